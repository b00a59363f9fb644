// The process harness lives with the scripts (demo and benchmarks use it too).
export * from '../../scripts/lib/swarm.ts'
