// The group side's libp2p protocols: the broker's group (info, join) and the judge's opener (params, open).
export const GROUP_PROTOCOL = '/p2pay/whopay/group/1.0.0'
export const OPENER_PROTOCOL = '/p2pay/whopay/opener/1.0.0'

/** How long one call to the broker's group or the judge's opener may take. */
export const GROUP_CALL_TIMEOUT_MS = 15_000
