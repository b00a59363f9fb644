// AggSign's libp2p protocols: the broker's (certify, cash) and a node's as a payee.
export const PROTOCOL = {
  broker: '/p2pay/aggsign/broker/1.0.0',
  pay: '/p2pay/aggsign/pay/1.0.0'
} as const

/**
 * The kind a payee's acknowledgement of a coin is counted under: the payment
 * itself is one message (Table I); the answer on the same stream is apart.
 */
export const ACK_KIND = 'aggsign-pay-ack'
