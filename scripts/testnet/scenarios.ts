// The testnet's scenarios: each is `scenarios/<name>.ts`, exporting
// `run(net, { short, log })` that returns the figures it measured and throws on
// a broken invariant, and optionally `HOSTS` (how many hosts each form needs).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Testnet } from './testnet.ts'

export interface ScenarioOpts {
  short: boolean
  log: (s: string) => void
}

export interface Scenario {
  run: (net: Testnet, opts: ScenarioOpts) => Promise<Record<string, unknown>>
  HOSTS?: { short: number; long: number }
}

/** every scenario the testnet knows, in the order `npm test` runs their short forms */
export const SCENARIOS = ['ppay', 'fairex', 'karma'] as const

/** hosts a scenario needs when its module does not say (the broker's host and one per daemon after it) */
const DEFAULT_HOSTS: Record<string, { short: number; long: number }> = {
  fairex: { short: 7, long: 7 },
  karma: { short: 9, long: 17 }
}

const file = (name: string): string => join(import.meta.dirname, 'scenarios', `${name}.ts`)

/** Whether `scenarios/<name>.ts` exists (a scenario may not be written yet). */
export const scenarioExists = (name: string): boolean => /^[a-z0-9-]+$/.test(name) && existsSync(file(name))

export async function loadScenario(name: string): Promise<Scenario> {
  if (!scenarioExists(name)) throw new Error(`no scenario ${name} (scripts/testnet/scenarios/${name}.ts)`)
  return (await import(file(name))) as Scenario
}

export function hostsFor(name: string, s: Scenario, short: boolean): number {
  const h = s.HOSTS ?? DEFAULT_HOSTS[name] ?? { short: 6, long: 6 }
  return short ? h.short : h.long
}
