// Traffic and checks for swarms under faults live with the scripts (the chaos run uses them too).
export * from '../../scripts/lib/load.ts'
