// What one call of the core did, in the survey's Table I units, so the net
// side can feed its counters: messages it leaves to send, signatures it made
// and verified (an aggregate verification counts as one, a cached certificate
// as none).
export interface Counts {
  messages: number
  signed: number
  verified: number
}

export const counts = (messages: number, signed: number, verified: number): Counts => ({ messages, signed, verified })
