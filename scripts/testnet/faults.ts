// Network faults, each applied inside a host's namespace so it dies with the
// namespace: iptables rules in chains of our own (P2T-PART for partitions,
// P2T-LOSS for loss) that INPUT and OUTPUT jump to, and tbf qdiscs on the two
// ends of the host's veth. Traffic to the root end of the bridge (the runner's
// control-API calls) is never partitioned.
import { nsExec, sh } from './netns.ts'

export const PART_CHAIN = 'P2T-PART'
export const LOSS_CHAIN = 'P2T-LOSS'

const ipt = async (ns: string, ...args: string[]): Promise<string> => await nsExec(ns, 'iptables', '-w', '5', ...args)

/** Makes our chains in `ns` and the jumps to them from INPUT and OUTPUT (once per namespace). */
export async function prepareChains(ns: string): Promise<void> {
  for (const chain of [PART_CHAIN, LOSS_CHAIN]) {
    await ipt(ns, '-N', chain)
    await ipt(ns, '-A', 'INPUT', '-j', chain)
    await ipt(ns, '-A', 'OUTPUT', '-j', chain)
  }
}

/** Drops every packet between this host and each address of `others`, both ways. */
export async function cutFrom(ns: string, others: string[]): Promise<void> {
  for (const ip of others) {
    await ipt(ns, '-A', PART_CHAIN, '-s', ip, '-j', 'DROP')
    await ipt(ns, '-A', PART_CHAIN, '-d', ip, '-j', 'DROP')
  }
}

export async function healAll(ns: string): Promise<void> {
  await ipt(ns, '-F', PART_CHAIN)
}

/** Drops each packet into and out of the host's eth0 with probability percent/100 (0 clears). */
export async function setLoss(ns: string, percent: number): Promise<void> {
  if (!(percent >= 0 && percent < 100)) throw new Error(`loss: percent in [0, 100), got ${percent}`)
  await ipt(ns, '-F', LOSS_CHAIN)
  if (percent === 0) return
  const p = (percent / 100).toFixed(4)
  for (const dir of ['-i', '-o']) {
    await ipt(
      ns,
      '-A',
      LOSS_CHAIN,
      dir,
      'eth0',
      '-m',
      'statistic',
      '--mode',
      'random',
      '--probability',
      p,
      '-j',
      'DROP'
    )
  }
}

/**
 * A token bucket of `kbit` kbit/s on both directions of the host's link: its eth0
 * (what it sends) and the root end of its veth (what it receives). The bucket
 * holds 20 ms of traffic (at least 16 KiB) and the queue 100 ms.
 */
export async function setBandwidth(ns: string, rootEnd: string, kbit: number): Promise<void> {
  if (!(Number.isInteger(kbit) && kbit > 0)) throw new Error(`bandwidth: kbit a whole number over 0, got ${kbit}`)
  const burst = Math.max(16 * 1024, Math.ceil((kbit * 1000) / 8 / 50))
  const tbf = ['root', 'tbf', 'rate', `${kbit}kbit`, 'burst', `${burst}`, 'latency', '100ms']
  await nsExec(ns, 'tc', 'qdisc', 'replace', 'dev', 'eth0', ...tbf)
  await sh('tc', 'qdisc', 'replace', 'dev', rootEnd, ...tbf)
}

export async function clearBandwidth(ns: string, rootEnd: string): Promise<void> {
  // deleting the root qdisc restores the default; there is none to delete when no limit was set
  await nsExec(ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root').catch(() => {})
  await sh('tc', 'qdisc', 'del', 'dev', rootEnd, 'root').catch(() => {})
}
