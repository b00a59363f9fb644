// The file market's libp2p protocol ids.
export const FAIREX_PROTOCOL = {
  /** downloader -> provider: one purchase, messages 1.1 .. 2.4 on one stream */
  sale: '/p2pay/fairex/sale/1.0.0',
  /** anyone -> provider: the files it sells */
  catalog: '/p2pay/fairex/catalog/1.0.0',
  /** peers -> accounting centre (broker): capital certificates, deposits, voids */
  ac: '/p2pay/fairex/ac/1.0.0',
  /** downloader -> TTP (3.1), provider -> TTP (3.3 pickup) */
  ttp: '/p2pay/fairex/ttp/1.0.0',
  /** downloader -> judge (COMP), anyone -> judge (bans) */
  judge: '/p2pay/fairex/judge/1.0.0'
} as const
