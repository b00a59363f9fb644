// `p2pay status` for a person: who the daemon is and how it is, its memory in
// two figures (the full V8 breakdown is in --json), then each scheme's state.
import { render, type RenderOptions } from './generic.ts'

export function status(answer: any, o: RenderOptions): string {
  if (answer === null || typeof answer !== 'object') return render(answer, o)
  const { memory, ...rest } = answer
  const brief =
    memory != null && typeof memory === 'object' ? { memory: { rss: memory.rss, heapUsed: memory.heapUsed } } : {}
  return render({ ...rest, ...brief }, o)
}
