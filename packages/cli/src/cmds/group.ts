// A command group: `p2pay <group> <command>`.
import type { Command } from '../command.ts'

export interface Group {
  name: string
  summary: string
  commands: Command[]
}
