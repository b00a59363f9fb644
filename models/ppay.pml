// PPay: one coin of owner O, reassigned from holder to holder through O, through the broker's downtime path
// while O is away, and by layers; holder H double-spends it in any way it likes (two requests, a request and a
// layer, a spend and a cash, each through O or the broker, in any order), while O goes away and comes back.
//
// Abstracts (packages/ppay/src/):
//   core/verify.ts   verifyProof, verifyRequest, verifyCash: a proof is a chain of transfers, each a signed
//                    "position (seq, depth) given to a receiver"; here a transfer's parent is the holding it spends
//   core/wallet.ts   Wallet.ownerPay (seq 1), ownerReassign (the seq check: STALE_SEQ when seq + 1 is in the
//                    trail or the request is not at the current seq, WRONG_HOLDER; adopting the broker's steps
//                    the requester's chain carries), applyDowntime (adopt, or the trail as evidence of a
//                    conflict), accept (a holding is keyed by sn, seq, depth: a second copy is a duplicate),
//                    beginSpend (one request, resent as the same bytes), layer, beginCash
//   core/ledger.ts   Ledger.cash (ingest, "before" check, payout key, coin paid once, divergence and compensation
//                    from the culprit, never below zero, the rest unpaid), downtimeReassign (the same request is
//                    answered the same; a holder seen giving the position to another is refused), report, ingest
//   net/wallet-owner.ts  answerReassign (STALE_SEQ: sync, then once more), net/wallet-sync.ts (log, report)
//   net/wallet-payments.ts spendHeld (owner first; unreachable, refusing or answer lost: the same request to
//                    the broker), net/ledger-service.ts (each ledger call is one atomic step)
//   docs/ppay.md     "Fraud detection", "Who pays", "Conservation"
// Left out: signatures and hashes are perfect (nobody forges or alters a signed object, so a proof a party shows
//   is one it was given); expiry, grace and MAX_CHAIN; values (one coin worth 1); several coins; buying, refunds
//   and the owner cheating (the owner is honest: it is the one whose check the model weakens); crashes (every
//   ledger and wallet call is atomic, as store.apply makes it); a message that is lost is sent again, so a
//   lost delivery is a delivery that happens later, and a lost answer from O is the downtime path taken anyway.
// Parties: O owner, H holder (cheats), P and Q honest payees; P may spend its holding on to Q, or leave for
//   good without cashing. O comes back in the end and syncs (the owner's periodic sync).
//
// Properties (assertions; the end-state ones when every party stopped):
//   pays-once     the coin's value leaves the coin at most once, and balances + the coin if unpaid = the money
//                 in (ledger audit) after every ledger step
//   owner-once    an honest owner signs at most one assignment per seq (a double spend through O never takes)
//   accept-once   every holding an honest payee accepted and kept is paid once (from the coin or by the culprit)
//                 or left as an unpaid claim against the culprit, and every honest spend completes
//   evidence      two transfers out of one position by one signer, both shown to the broker (in a chain cashed,
//                 a cash, a downtime request) or one honoured by O and one assigned by the broker (O's sync finds
//                 it), name that signer in a fraud proof once O synced; no honest party (O, P, Q) is ever named.
//                 (A layer or request whose payee never cashes nor spends it on is seen by nobody: no evidence.)
// H gives its holding away at most twice (every pair of: a request to P, a request to Q, a layer, a cash), each
//   request sent to O, to the broker, both or neither. -DTHREE_GIVES allows every triple too: by hand, with
//   -DCOLLAPSE and more memory than the runner gives pan (see docs/models-ppay-karma.md).
// Weakened variants, chosen when pan is compiled (C flags read by init): NO_SEQ_CHECK drops the owner's seq and
//   holder check; NO_REPORT: the owner's sync does not send a conflict it finds to the broker; PAY_EVERY_CASH: the
//   ledger pays every cash from the coin, paid or not.
// Every message prints "MSG ..." (parties by number: O 0, H 1, P 2, Q 3; B the broker): `./pan -r` replays a trail.
//
// check: safety holds -m100000 | -DSAFETY
// check: no-seq-check violated -m100000 | -DSAFETY -DNO_SEQ_CHECK
// check: no-report violated -m100000 | -DSAFETY -DNO_REPORT
// check: pay-every-cash violated -m100000 | -DSAFETY -DPAY_EVERY_CASH
// bound: 120

#define O 0
#define H 1
#define P 2
#define Q 3
#define SINK 4
#define NONE 255

#define ASSIGN 0
#define REQUEST 1
#define LAYER 2
#define CASH 3

#define MAXT 12
/* (signer, position) -> a slot: signer 0..4, seq 0..3, depth 0..1 */
#define KEY(s, sq, d) ((s) * 8 + (sq) * 2 + (d))
#define NKEY 40

/* the holding a transfer gives its receiver */
#define HSEQ(x) (t_kind[x] == ASSIGN -> 1 : (t_kind[x] == REQUEST -> t_seq[x] + 1 : t_seq[x]))
#define HDEPTH(x) (t_kind[x] == LAYER -> t_depth[x] + 1 : 0)
#define TKEY(x) KEY(t_signer[x], t_seq[x], t_depth[x])

/* a holding's state at its receiver, per transfer that gave it */
#define NOHOLD 0
#define HELD 1
#define SPENDING 2
#define SPENT 3
#define CASHED 4
#define CLAIM 5
#define REFUSED 6

bool weakSeq, noReport, payEveryCash;
byte maxGive = 2;       /* how many times H gives its holding away (3 with -DTHREE_GIVES) */

/* transfers signed so far: signer gives position (seq, depth) to `to`; parent = the holding it gives away */
byte nt;
byte t_signer[MAXT], t_to[MAXT], t_seq[MAXT], t_depth[MAXT], t_parent[MAXT], t_kind[MAXT];
byte pend[MAXT];        /* copies of a holding on their way to its receiver (owner's, broker's, a layer) */
byte hold[MAXT];        /* the receiver's state of the holding */
byte has[NKEY];         /* a payee's wallet: (payee, seq, depth) -> transfer + 1 */
byte npend[5], nheld[5];
bit shown[MAXT];        /* shown to the broker: in a chain presented for cash, a cash, a downtime request */
bit oHonoured[MAXT];    /* a request the owner assigned on */

/* the broker's ledger */
byte ev[NKEY];          /* evidence: (signer, position) -> first transfer seen + 1 */
bit fraudAt[NKEY];      /* a fraud proof for (signer, position) */
bit named[5];           /* culprits named by fraud proofs */
bit payout[NKEY];       /* a holding paid: (holder, seq, depth) */
byte paidKey[NKEY];     /* the chain the coin paid out on: (signer, position) -> transfer + 1 */
bool coinOut = true;
byte coinPays;
byte bal[5];
byte total;
byte dlog[4];           /* the downtime log: request transfers + 1, in order */
byte nlog;
bit bAssigned[MAXT];    /* the broker signed a downtime assignment for this request */

/* the owner's wallet: its trail, seq -> transfer + 1 (the first assignment, or the request honoured) */
bool online = true;
byte toggles;
byte oSeq = 1, oHolder = H;
byte trail[5];
bit oSigned[5];         /* seqs the owner signed an assignment for */
byte cursor;            /* downtime log entries applied */

bool hDone, pDone, pLeft, qDone, oDone;
bool ok, conflict;      /* the outcome of the last call, read by its caller in the same step */

/* scratch, only ever used inside one d_step */
hidden byte x, y, k, j, forkT, tmp, s, a1, a2, a3;

inline newT(sg, to, sq, d, par, kind) {
  x = nt;
  t_signer[nt] = sg; t_to[nt] = to; t_seq[nt] = sq; t_depth[nt] = d; t_parent[nt] = par; t_kind[nt] = kind;
  nt++
}

inline send(h) {
  pend[h]++; npend[t_to[h]]++
}

inline checkAudit() {
  assert(bal[O] + bal[H] + bal[P] + bal[Q] + (coinOut -> 1 : 0) == total);   /* pays-once */
  assert(!named[O] && !named[P] && !named[Q])                                  /* evidence: no honest culprit */
}

/* one transfer into the evidence: a second transfer out of its position by its signer convicts the signer
   (two cash requests for one position pay once and convict nobody) */
inline record(t) {
  k = TKEY(t);
  if
  :: ev[k] == 0 -> ev[k] = t + 1
  :: ev[k] != 0 && ev[k] - 1 != t && !(t_kind[ev[k] - 1] == CASH && t_kind[t] == CASH) ->
     fraudAt[k] = 1; named[t_signer[t]] = 1;
     printf("MSG B convicts %d: position %d.%d given twice\n", t_signer[t], t_seq[t], t_depth[t])
  :: else -> skip
  fi
}

/* Ledger.ingest: every transfer of the chain ending in `tip` */
inline ingest(tip) {
  y = tip;
  do
  :: y == NONE -> break
  :: else -> shown[y] = 1; record(y); y = t_parent[y]
  od
}

/* Ledger.cash of holding h by its holder (the holder signs the cash transfer); the outcome in hold[h] */
inline cash(h) {
  a1 = t_to[h]; a2 = HSEQ(h); a3 = HDEPTH(h);
  newT(a1, SINK, a2, a3, h, CASH);
  tmp = ev[TKEY(x)];                     /* before */
  ingest(x);
  k = KEY(t_to[h], HSEQ(h), HDEPTH(h));
  if
  :: tmp != 0 && t_kind[tmp - 1] != CASH ->
     hold[h] = REFUSED; printf("MSG B refuses the cash of %d: FRAUD\n", t_to[h])   /* it gave this holding away */
  :: else ->
     if
     :: payout[k] -> hold[h] = REFUSED; printf("MSG B refuses the cash of %d: ALREADY_CASHED\n", t_to[h])
     :: !payout[k] && (coinOut || payEveryCash) ->
        coinOut = false; coinPays++; payout[k] = 1; bal[t_to[h]]++;
        hold[h] = CASHED; printf("MSG B pays %d the coin for %d.%d\n", t_to[h], a2, a3);
        assert(coinPays <= 1);                                      /* pays-once */
        y = x;
        do
        :: y == NONE -> break
        :: else -> paidKey[TKEY(y)] = y + 1; y = t_parent[y]
        od
     :: else ->
        /* divergence: the oldest transfer of this chain whose (position, signer) the paid chain gave elsewhere */
        forkT = NONE; y = h;
        do
        :: y == NONE -> break
        :: else ->
           if
           :: paidKey[TKEY(y)] != 0 && paidKey[TKEY(y)] - 1 != y -> forkT = y
           :: else -> skip
           fi;
           y = t_parent[y]
        od;
        if
        :: forkT == NONE || !fraudAt[TKEY(forkT)] || t_signer[forkT] == t_to[h] ->
           hold[h] = REFUSED; printf("MSG B refuses the cash of %d: coin already cashed\n", t_to[h])
        :: else ->
           payout[k] = 1;
           if
           :: bal[t_signer[forkT]] > 0 -> bal[t_signer[forkT]]--; bal[t_to[h]]++; hold[h] = CASHED;
              printf("MSG B pays %d for %d.%d from the account of %d\n", t_to[h], a2, a3, t_signer[forkT])
           :: else -> hold[h] = CLAIM;           /* recorded as unpaid in the fraud proof naming the culprit */
              printf("MSG B records %d's claim for %d.%d against %d (unpaid)\n", t_to[h], a2, a3, t_signer[forkT])
           fi
        fi
     fi
  fi;
  checkAudit()
}

/* Ledger.downtimeReassign of request r; ok tells whether the broker assigned */
inline downtime(r) {
  if
  :: bAssigned[r] -> ok = true; send(r)          /* the same request gets the same answer */
  :: else ->
     tmp = ev[TKEY(r)];
     ingest(r);
     if
     :: tmp != 0 && tmp - 1 != r ->             /* FRAUD: this holder gave the position away before */
        ok = false; printf("MSG B refuses %d's request to pay %d: FRAUD\n", t_signer[r], t_to[r])
     :: else -> ok = true; bAssigned[r] = 1; send(r); dlog[nlog] = r + 1; nlog++;
        printf("MSG B assigns seq %d to %d for the offline owner (downtime), on %d's request\n",
               t_seq[r] + 1, t_to[r], t_signer[r])
     fi
  fi;
  checkAudit()
}

/* Ledger.report of the owner's trail up to seq s (chainFromTrail) */
inline report(upTo) {
  j = 1;
  do
  :: j > upTo -> break
  :: else -> record(trail[j] - 1); j++
  od
}

/* Wallet.applyDowntime for every log entry past the cursor, then syncedTo */
inline sync() {
  do
  :: cursor >= nlog -> break
  :: else ->
     x = dlog[cursor] - 1;
     s = HSEQ(x);
     if
     :: trail[s] != 0 && trail[s] - 1 != x && !noReport ->       /* conflict: the trail is evidence */
        printf("MSG O syncs: the broker's seq %d conflicts with its trail, reports it\n", s); report(s)
     :: trail[s] == 0 && s == oSeq + 1 && t_signer[x] == oHolder && t_seq[x] == oSeq ->
        trail[s] = x + 1; oSeq = s; oHolder = t_to[x]; printf("MSG O syncs: adopts the broker's seq %d\n", s)
     :: else -> skip
     fi;
     cursor++
  od;
  checkAudit()
}

/* Wallet.ownerReassign of request r (its parent is the requester's holding, at seq s) */
inline ownerTry(r) {
  ok = false; conflict = false;
  s = HSEQ(t_parent[r]);
  if
  :: trail[s + 1] != 0 && trail[s + 1] - 1 == r -> ok = true; send(r)    /* a replay: the same assignment */
  :: trail[s + 1] != 0 && trail[s + 1] - 1 != r && !weakSeq ->
     conflict = true; printf("MSG O refuses %d's request to pay %d: STALE_SEQ\n", t_signer[r], t_to[r])
  :: else ->
     /* adopt the broker's steps of the requester's chain past the owner's seq, while they follow on */
     do
     :: oSeq >= s -> break
     :: else ->
        y = t_parent[r];
        do
        :: y == NONE || HSEQ(y) <= oSeq + 1 -> break
        :: else -> y = t_parent[y]
        od;
        if
        :: y != NONE && HSEQ(y) == oSeq + 1 && t_kind[y] == REQUEST && bAssigned[y] &&
           t_signer[y] == oHolder && t_seq[y] == oSeq ->
           trail[oSeq + 1] = y + 1; oSeq++; oHolder = t_to[y]
        :: else -> break
        fi
     od;
     if
     :: (s != oSeq || t_to[t_parent[r]] != oHolder) && !weakSeq ->                     /* STALE_SEQ, WRONG_HOLDER */
        conflict = true; printf("MSG O refuses %d's request to pay %d: STALE_SEQ\n", t_signer[r], t_to[r])
     :: else ->
        printf("MSG O assigns seq %d to %d on %d's request\n", s + 1, t_to[r], t_signer[r]);
        assert(!oSigned[s + 1]);                                    /* owner-once */
        oSigned[s + 1] = 1; oHonoured[r] = 1;
        trail[s + 1] = r + 1; oSeq = s + 1; oHolder = t_to[r];
        ok = true; send(r)
     fi
  fi
}

/* answerReassign: on STALE_SEQ the owner syncs and tries once more */
inline ownerReassign(r) {
  ownerTry(r);
  if
  :: conflict -> sync(); ownerTry(r)
  :: else -> skip
  fi
}

/* Wallet.accept of one copy of holding h: one holding per (seq, depth), a second copy is a duplicate */
inline accept(h) {
  pend[h]--; npend[t_to[h]]--;
  k = KEY(t_to[h], HSEQ(h), HDEPTH(h));
  if
  :: has[k] == 0 -> has[k] = h + 1; hold[h] = HELD; nheld[t_to[h]]++;
     printf("MSG %d accepts the coin at %d.%d from %d\n", t_to[h], HSEQ(h), HDEPTH(h), t_signer[h])
  :: else -> printf("MSG %d takes a copy of %d.%d it holds already (duplicate)\n", t_to[h], HSEQ(h), HDEPTH(h))
  fi
}

/* holdings a payee may pick: with a copy on its way, held, held and spendable by a request */
#define ELIGIBLE(i, mode) (mode == 0 && pend[i] > 0 || mode == 1 && hold[i] == HELD || \
                           mode == 2 && hold[i] == HELD && HDEPTH(i) == 0)

/* the first or the last holding of `who` that is ELIGIBLE (the order is the network's; a payee holds at most
   two at once here, so this is either order), NONE if there is none */
inline pick(who, mode, h, g) {
  d_step {
    a1 = NONE; a2 = NONE; a3 = 0;
    do
    :: a3 >= nt -> break
    :: else ->
       if
       :: t_to[a3] == who && ELIGIBLE(a3, mode) -> a2 = a3; if :: a1 == NONE -> a1 = a3 :: else -> skip fi
       :: else -> skip
       fi;
       a3++
    od;
    h = a1; g = a2; a3 = 0
  };
  if :: skip :: h != g -> h = g fi;
  g = 0
}

/* the owner: away and back (at most twice), syncing when there; back for good once the others stopped */
proctype Owner() {
  do
  :: atomic { toggles < 2 -> online = !online; toggles++;
       if :: online -> printf("MSG O is back\n") :: else -> printf("MSG O goes away\n") fi }
  :: atomic { online && cursor < nlog -> d_step { sync() } }
  :: atomic { hDone && pDone && qDone -> online = true; d_step { sync() }; oDone = true; break }
  od
}

/* H: the first holder; gives its holding away at most twice, and sends each request it signed to the owner
   and to the broker, in any order, while the owner is there or not */
proctype Cheater() {
  byte rP = NONE, rQ = NONE, gave;
  bool toOwnerP, toOwnerQ, toBrokerP, toBrokerQ, layered, cashed;
  do
  :: atomic { gave < maxGive && rP == NONE -> d_step { newT(H, P, 1, 0, 0, REQUEST); rP = x }; gave++ }
  :: atomic { gave < maxGive && rQ == NONE -> d_step { newT(H, Q, 1, 0, 0, REQUEST); rQ = x }; gave++ }
  :: atomic { gave < maxGive && !layered -> layered = true; gave++;
       d_step { newT(H, P, 1, 0, 0, LAYER); send(x); printf("MSG 1 layers its holding to 2\n") } }
  :: atomic { gave < maxGive && !layered -> layered = true; gave++;
       d_step { newT(H, Q, 1, 0, 0, LAYER); send(x); printf("MSG 1 layers its holding to 3\n") } }
  :: atomic { gave < maxGive && !cashed -> cashed = true; gave++; d_step { cash(0) } }
  :: atomic { rP != NONE && !toOwnerP && online -> toOwnerP = true; d_step { ownerReassign(rP) }; ok = false }
  :: atomic { rQ != NONE && !toOwnerQ && online -> toOwnerQ = true; d_step { ownerReassign(rQ) }; ok = false }
  :: atomic { rP != NONE && !toBrokerP -> toBrokerP = true; d_step { downtime(rP) }; ok = false }
  :: atomic { rQ != NONE && !toBrokerQ -> toBrokerQ = true; d_step { downtime(rQ) }; ok = false }
  :: atomic { true -> hDone = true; break }
  od
}

/* P: honest; takes what comes, cashes a holding or spends it on to Q (spendHeld: its one request to the owner
   if there; unreachable, refusing or its answer lost, the same request to the broker), or leaves for good */
proctype PayeeP() {
  byte h = NONE, g, r = NONE, spendOf = NONE;
  bool askedOwner;
  do
  :: atomic { npend[P] > 0 -> pick(P, 0, h, g); d_step { accept(h) }; h = NONE }
  :: atomic { nheld[P] > 0 -> pick(P, 1, h, g); d_step { nheld[P]--; cash(h) }; h = NONE }
  :: atomic { nheld[P] > 0 && r == NONE -> pick(P, 2, h, g);
       if
       :: h != NONE ->
          spendOf = h; hold[h] = SPENDING; nheld[P]--;
          d_step { a2 = HSEQ(h); newT(P, Q, a2, 0, h, REQUEST); r = x }
       :: else -> skip
       fi;
       h = NONE }
  :: atomic { spendOf != NONE && hold[spendOf] == SPENDING && online && !askedOwner ->
       askedOwner = true;
       d_step { ownerReassign(r) };
       if
       :: ok -> hold[spendOf] = SPENT
       :: ok -> printf("MSG 2 gets no answer from O: the same request to B next\n")   /* the answer lost */
       :: else -> skip
       fi;
       ok = false }
  :: atomic { spendOf != NONE && hold[spendOf] == SPENDING && (askedOwner || !online) ->
       d_step { downtime(r) };
       if
       :: ok -> hold[spendOf] = SPENT
       :: else -> skip                    /* stays spending: the same request is retried */
       fi;
       ok = false }
  :: atomic { hDone && npend[P] == 0 && nheld[P] == 0 && (spendOf == NONE || hold[spendOf] != SPENDING) ->
       pDone = true; break }
  :: atomic { hDone && (spendOf == NONE || hold[spendOf] != SPENDING) -> pLeft = true; pDone = true; break }
  od
}

/* Q: honest; takes what comes and cashes it */
proctype PayeeQ() {
  byte h = NONE, g;
  do
  :: atomic { npend[Q] > 0 -> pick(Q, 0, h, g); d_step { accept(h) }; h = NONE }
  :: atomic { nheld[Q] > 0 -> pick(Q, 1, h, g); d_step { nheld[Q]--; cash(h) }; h = NONE }
  :: atomic { hDone && pDone && npend[Q] == 0 && nheld[Q] == 0 -> qDone = true; break }
  od
}

/* the end: every party stopped, the owner synced */
proctype Audit() {
  byte a, b;
  oDone;
  d_step {
    checkAudit();
    /* accept-once: every holding an honest payee kept is paid once or a claim against a named culprit */
    a = 0;
    do
    :: a >= nt -> break
    :: else ->
       assert(!(t_to[a] == Q || t_to[a] == P && !pLeft) || hold[a] != HELD && hold[a] != SPENDING &&
              hold[a] != REFUSED);
       a++
    od;
    /* evidence: two transfers out of one position by one signer, both shown to the broker, or one the owner
       honoured and one the broker assigned (the owner's sync finds it), name their signer */
    a = 0;
    do
    :: a >= nt -> break
    :: else ->
       b = a + 1;
       do
       :: b >= nt -> break
       :: else ->
          if
          :: TKEY(a) == TKEY(b) && !(t_kind[a] == CASH && t_kind[b] == CASH) &&
             (shown[a] && shown[b] || oHonoured[a] && bAssigned[b] || bAssigned[a] && oHonoured[b]) ->
             assert(named[t_signer[a]])
          :: else -> skip
          fi;
          b++
       od;
       a++
    od
  }
}

/* the weakened variants, chosen when pan is compiled (cc -D...) */
c_code {
\#ifdef NO_SEQ_CHECK
  int weak_seq = 1;
\#else
  int weak_seq = 0;
\#endif
\#ifdef NO_REPORT
  int no_report = 1;
\#else
  int no_report = 0;
\#endif
\#ifdef PAY_EVERY_CASH
  int pay_every_cash = 1;
\#else
  int pay_every_cash = 0;
\#endif
\#ifdef THREE_GIVES
  int max_give = 3;
\#else
  int max_give = 2;
\#endif
}

init {
  c_code {
    now.weakSeq = weak_seq; now.noReport = no_report; now.payEveryCash = pay_every_cash; now.maxGive = max_give;
  };
  d_step {
    /* O paid H with the first assignment (Wallet.ownerPay): transfer 0, seq 1 */
    newT(O, H, 0, 0, NONE, ASSIGN);
    oSigned[1] = 1; trail[1] = 1; hold[0] = HELD;
    bal[H] = 1;               /* H's account, which compensation comes from; O paid 1 for the coin */
    total = 2
  };
  atomic { run Owner(); run Cheater(); run PayeeP(); run PayeeQ(); run Audit() }
}
