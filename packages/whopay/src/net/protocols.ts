// WhoPay's libp2p protocols: the broker's ledger, a node as coin owner, as
// payee, and as keeper of coin states (the group's and the opener's are the
// group side's own).
export const LEDGER_PROTOCOL = '/p2pay/whopay/ledger/1.0.0'
export const OWNER_PROTOCOL = '/p2pay/whopay/owner/1.0.0'
export const PAY_PROTOCOL = '/p2pay/whopay/pay/1.0.0'
export const COIN_STATE_PROTOCOL = '/p2pay/whopay/coin-state/1.0.0'
