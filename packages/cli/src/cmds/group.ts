// A command group: `p2pay <group> <command>`.
import type { Command } from '../command.ts'

export interface Group {
  name: string
  summary: string
  commands: Command[]
  /** what this group's amounts are counted in, if not the default `units` */
  unit?: string
}
