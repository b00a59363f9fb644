// Karma: one transfer A -> B voted by bank(A) and bank(B), k = 5, two Byzantine members in each bank-set,
// messages reordered, lost and sent again, and bank(B) changing in the middle: two of its members leave, two new
// ones enter and take the account over from the old bank, while a majority of the old bank is unreachable for
// a while and then back.
//
// Abstracts (packages/karma/src/):
//   core/member.ts     Member.debit (once per nonce: a retry is the same request), receiveNotice (votes from
//                      members of bank(A), one per member, credit once at a strict majority; into a row it does not
//                      hold, unsynced: its receipt says so and counts for nobody), markUnsynced (a member that left)
//   core/majority.ts   majority(k) = floor(k / 2) + 1, majorityValue (reads, states, the payer's receipts)
//   core/handover.ts   adoptState: the state a strict majority of the old bank signed, balance and credited request
//                      hashes together (stateValue over each member's pages joined), the hashes of that state
//                      counted as credited, a credit applied here on own votes and not listed applied again on top,
//                      a credit known only as adopted and not listed counted afresh (votes kept); exportStates
//                      (refused from a row that is not synced)
//   net/debit.ts, net/outbox.ts   the notice owed to every member bank(B) had since the debit, sent until taken
//   net/credit.ts      a member out of bank(B) takes no notice and marks its row stale; noticeOf (a member short of
//                      a majority pulls the notices it misses from bank(A))
//   net/handover.ts    handoff / resync from the old bank (members out of sight count, and do not answer)
//   net/account-transfers.ts  the payer: done with debit receipts from a majority of bank(A) and synced credit
//                      receipts from a majority of bank(B), both as it computes them; net/reads.ts,
//                      net/account-reads.ts the majority read (refusals and unsynced rows are no vote)
//   docs/karma.md      "A transfer", "Credits, churn, joins and epochs", "Votes only from synced rows"
// Abstracted: signatures are perfect (a Byzantine member signs anything as itself, never as another; a notice
//   carries A's request, which nobody can forge, so a lying notice is ignored and is not modelled); the DHT is a
//   given membership change seen by everyone at once; amounts are one unit, a row is counted as the credits it
//   holds over B's balance before the transfer; a lost message is one sent again later (the outbox, the payer's
//   retries and long-polls), so loss is delay and delivery order is free; noticeOf is such a delivery.
// Left out: epochs and rescaling, joins, pruning, the reconcile after a freeze, bank syncs and resyncs between
//   members that stay (digest and replay), a second transfer, other accounts, A's bank changing, refusals (an
//   honest member never refuses this request; two Byzantine refusals are no majority). b1 leaves and is told
//   nothing (the payer's count is then the harder to reach); b0 is in the new members' old bank.
// State-space cuts (behaviours kept): the honest members of bank(A) are alike, so they apply A's request in the
//   order 0, 1, 2 and a member of B's side takes their notices in that order; the Byzantine members of bank(A)
//   send their two notices to a member of bank(B) together, whenever they like (b2 and the new members), which
//   still lets a credit come after 0, 1 or 2 honest notices.
// Byzantine behaviours: in bank(A) (members 3, 4): debit receipts without a debit, valid notices at any time or
//   none; in bank(B) (3, 4, in both sets): credit receipts without a credit, a state export of their choice for
//   each hand-over (none, the state without the credit, the credit without its hash, the credit with its hash),
//   and the most harmful balance answer to any read (the balance without the credit).
//
// Properties (assertions):
//   credit-once   no honest member of bank(B) ever holds B's credit twice (A's debit is applied once by the
//                 nonce check, here by construction)
//   both-or-none  at the end (every message delivered, the old bank back): every honest member of bank(A)
//                 debited A, and every honest member of the current bank(B) with a synced row holds B's credit
//   acked-read    at the end, a majority read of B returns the credit or no majority (the two liars and any
//                 honest member without it are fewer than a majority)
//   kept          an honest member that credited B still holds the credit after a hand-over
//
// Finding (fixed in the code): the hand-over as it was (adoptState before the credited hashes were part of
//   stateValue) let two Byzantine old members double-credit B at a new member. The state value a majority had to
//   agree on was the balance without the credited hashes, and a hash counted as held only when a majority listed
//   it: b2 (honest, credited) and the two liars sign "B +1", the liars leave the hash out, so the new member
//   adopts +1 without the hash and credits again on top of it (or on the next notice): B +2 there, and with the
//   liars a majority read of +2. With the credited hashes inside the value the majority agrees on (the code
//   now), every property holds. The variant "old-handover" (OLD_HANDOVER) is the hand-over as it was, and must
//   stay violated; the other weakened variants are made on the code's form.
// Weakened variants (C flags, read by init): OLD_HANDOVER compares the balance only and takes the hashes a
//   majority lists (the finding); OFF_BY_ONE takes floor(k / 2) as the majority (the two liars are
//   one); NO_CREDIT_LIST drops the credited hashes from a hand-over; READ_IN_FLIGHT also reads B at any time
//   after the acknowledgement, while notices are on their way: with two liars, a read quorum of 3 of 5 can miss
//   an acknowledged transfer until the notices arrive (masking f liars takes n >= 4f + 1).
// Every step prints "MSG ...": `./pan -r` replays a trail as a message sequence.
//
// check: safety holds -m100000 | -DSAFETY
// check: old-handover violated -m100000 | -DSAFETY -DOLD_HANDOVER
// check: off-by-one violated -m100000 | -DSAFETY -DOFF_BY_ONE
// check: no-credit-list violated -m100000 | -DSAFETY -DNO_CREDIT_LIST
// check: read-in-flight violated -m100000 | -DSAFETY -DREAD_IN_FLIGHT
// bound: 120

/* bank(A): members 0..4, 3 and 4 Byzantine. B's side: 0..4 the old bank(B), 5 and 6 the new members; the new
   bank(B) is {2, 3, 4, 5, 6}: 0 and 1 leave; 3 and 4 Byzantine in both sets; 0, 1, 2 (the old majority) are
   unreachable from the change until they are back */
#define K 5
#define NB 7
#define OLDB(m) ((m) <= 4)
#define NEWB(m) ((m) >= 2)
#define INB(m) (changed -> NEWB(m) : OLDB(m))
#define HONB(m) ((m) <= 2 || (m) >= 5)
#define BIT(i) (1 << (i))
#define REACH(mm) (!(away && (mm) <= 2))

/* a row of B at an honest member */
#define NOROW 0
#define SYNCED 1
#define UNSYNCED 2
/* the request at an honest member of bank(B) */
#define NONE 0
#define COUNTING 1
#define CREDITED 2        /* on this member's own votes */
#define ADOPTED 3         /* known as credited from a hand-over */

byte need = 3;
bool noCreditList, readInFlight, listsInValue;

/* bank(A): its honest members 0, 1, 2 are alike, so they apply A's request in that order, and each member of
   B's side hears them in that order (a renaming of them: it cuts states, not behaviours) */
byte debN;                /* honest members that applied A's request */
byte debPre;              /* of them, before the change of bank(B) */
byte recv[NB];            /* notices of honest members of bank(A) a member of B's side took */
byte byzNotice;           /* the Byzantine 3, 4 of bank(A) sent their valid notices to these (bits) */

/* B's side, honest members 0, 1, 2, 5, 6 */
byte row[NB], cr[NB], st[NB], vot[NB];
bit everCredited[NB];

bool changed, away, acked;

/* scratch, used only inside one d_step */
hidden byte i, m, n, v0, v1, v2, v3, l, hv, votes;

inline popcount(b, c) {
  c = 0; i = 0;
  do
  :: i >= 8 -> break
  :: else -> if :: b & BIT(i) -> c++ :: else -> skip fi; i++
  od
}

/* Member.receiveNotice at honest member mm of a valid notice from member j of bank(A) */
inline notice(j, mm) {
  if
  :: !INB(mm) ->
     printf("MSG a%d -> b%d notice: not in bank(B), marks its row stale\n", j, mm);
     if :: row[mm] == SYNCED -> row[mm] = UNSYNCED :: else -> skip fi
  :: INB(mm) && (st[mm] == CREDITED || st[mm] == ADOPTED) -> printf("MSG a%d -> b%d notice: already credited\n", j, mm)
  :: INB(mm) && st[mm] != CREDITED && st[mm] != ADOPTED && (vot[mm] & BIT(j)) -> skip
  :: else ->
     vot[mm] = vot[mm] | BIT(j);
     popcount(vot[mm], votes);
     if
     :: votes >= need ->
        if :: row[mm] == NOROW -> row[mm] = UNSYNCED :: else -> skip fi;
        cr[mm]++; st[mm] = CREDITED; everCredited[mm] = 1;
        printf("MSG a%d -> b%d notice: vote %d, credits B (row synced: %d)\n", j, mm, votes, row[mm] == SYNCED);
        assert(cr[mm] <= 1)                                   /* credit-once */
     :: else -> st[mm] = COUNTING; printf("MSG a%d -> b%d notice: vote %d\n", j, mm, votes)
     fi
  fi
}

/* adoptState at new member mm: the old bank's answers as they are now; the Byzantine pair picks its export:
   bz 0 none, 1 as the honest ones without the credit (cr 0, unlisted), 2 the credit without its hash (cr 1,
   unlisted), 3 the credit with its hash (cr 1, listed) */
inline adopt(mm, bz, pf) {
  v0 = 0; v1 = 0; v2 = 0; v3 = 0; l = 0;
  /* oldBankOf: the k nearest to B's key but mm: b0 (nearer than b1), b2, b3, b4 and the other new member;
     answers by value: v0 (B +0, unlisted), v1 (+0, listed), v2 (+1, unlisted), v3 (+1, listed) */
  n = 0;
  do
  :: n > 2 -> break
  :: else ->
     m = (n == 0 -> 0 : (n == 1 -> 2 : 11 - mm));
     if
     :: REACH(m) && row[m] == SYNCED ->
        hv = ((st[m] == CREDITED || st[m] == ADOPTED) && !noCreditList -> 1 : 0);
        l = l + hv;
        if
        :: cr[m] == 0 && hv == 0 -> v0++
        :: cr[m] == 0 && hv == 1 -> v1++
        :: cr[m] != 0 && hv == 0 -> v2++
        :: else -> v3++
        fi
     :: else -> skip
     fi;
     n++
  od;
  if
  :: bz == 1 -> v0 = v0 + 2
  :: bz == 2 -> v2 = v2 + 2
  :: bz == 3 && !noCreditList -> v3 = v3 + 2; l = l + 2
  :: bz == 3 && noCreditList -> v2 = v2 + 2
  :: else -> skip
  fi;
  if
  :: !listsInValue -> v0 = v0 + v1; v1 = 0; v2 = v2 + v3; v3 = 0     /* OLD_HANDOVER: the balance, not the list */
  :: else -> skip
  fi;
  /* majorityValue: the value a strict majority signed (two can reach floor(k/2): then either, by arrival) */
  hv = 4;
  if
  :: v0 >= need && (pf == 0 || v2 < need && v3 < need) -> hv = 0
  :: else ->
     if
     :: v2 >= need && (pf == 0 || v3 < need) -> hv = 1
     :: else ->
        if
        :: v3 >= need -> hv = 1
        :: else -> if :: v0 >= need -> hv = 0 :: v2 >= need -> hv = 1 :: else -> skip fi
        fi
     fi
  fi;
  if
  :: hv != 4 && listsInValue -> l = (v3 >= need && hv == 1 || v1 >= need && hv == 0 -> need : 0)
  :: else -> skip
  fi;
  if
  :: hv != 4 ->
     printf("MSG b%d adopts the old bank's state: B +%d, the hash listed by %d\n", mm, hv, l);
     if
     :: st[mm] == CREDITED && l < need -> hv++            /* credited here, not held by the old bank: on top */
     :: st[mm] == ADOPTED && l < need -> st[mm] = COUNTING  /* counted afresh, votes kept */
     :: else -> skip
     fi;
     if
     :: l >= need && st[mm] != CREDITED -> st[mm] = ADOPTED
     :: else -> skip
     fi;
     if :: everCredited[mm] -> assert(hv >= 1) :: else -> skip fi;      /* kept */
     cr[mm] = hv; row[mm] = SYNCED;
     assert(cr[mm] <= 1)                                                  /* credit-once */
  :: else -> printf("MSG b%d finds no majority of the old bank\n", mm)
  fi
}

/* the payer's count: debit receipts of bank(A), synced credit receipts of bank(B) as it computes it now; the
   Byzantine members sign whatever helps */
inline ackCount(d, c) {
  d = debN + 2;
  c = 2; n = 0;
  do
  :: n >= NB -> break
  :: else ->
     if :: HONB(n) && INB(n) && row[n] == SYNCED && (st[n] == CREDITED || st[n] == ADOPTED) -> c++ :: else -> skip fi;
     n++
  od
}

/* a majority read of B now: honest synced reachable members of the current bank answer their row, the two
   liars the balance without the credit: a majority that says so is an acknowledged transfer gone missing */
inline readB(mustHold) {
  v0 = 2; n = 0;
  do
  :: n >= NB -> break
  :: else ->
     if :: HONB(n) && INB(n) && row[n] == SYNCED && cr[n] == 0 && !(away && n <= 2) -> v0++ :: else -> skip fi;
     n++
  od;
  if :: mustHold && acked -> assert(v0 < need) :: else -> skip fi     /* acked-read */
}

proctype BankA() {
  /* A's request reaches each honest member once (a retry is the same bytes: debit applies it once) */
  do
  :: d_step { debN < 3 ->
       printf("MSG A -> a%d request: debited\n", debN); debPre = debPre + (changed -> 0 : 1); debN++ }
  :: debN == 3 -> break
  od
}

/* the notices owed to member mm: every debit's, once mm is in bank(B), to every member bank(B) had since (b0
   gets those made before the change, b2 all, the new members all once they are in) */
#define AVAIL(mm) ((mm) == 0 -> debPre : ((mm) == 2 -> debN : (changed -> debN : 0)))
/* the next owed notice reaches member mm (when reachable) */
#define DELIVER(mm) :: d_step { recv[mm] < AVAIL(mm) && REACH(mm) -> m = recv[mm]; recv[mm]++; notice(m, mm) }
/* the Byzantine members' notices to member mm, whenever they like: both at once (a credit can still come after
   0, 1 or 2 honest notices, every timing one Byzantine notice at a time gives) */
#define BYZ(mm) :: d_step { !(byzNotice & BIT(mm)) && INB(mm) && REACH(mm) -> \
                             byzNotice = byzNotice | BIT(mm); notice(3, mm); notice(4, mm) }
/* noticeOf (a member short of a majority pulls the notices it misses) is a delivery made earlier here */

proctype Network() {
  byte bz, pf;  /* the Byzantine old members' export for a hand-over; which of two majorities comes first */
  do
  DELIVER(0) DELIVER(2) DELIVER(5) DELIVER(6)
  BYZ(2) BYZ(5) BYZ(6)
  :: d_step { !changed -> changed = true; away = true;
       printf("MSG bank(B) changes to {b2, b3, b4, b5, b6}; b0, b1, b2 unreachable\n") }
  :: d_step { away -> away = false; printf("MSG b0, b1, b2 are back\n") }
  /* a member that left marks its row stale on its own tick */
  :: d_step { changed && !away && row[0] == SYNCED -> row[0] = UNSYNCED; printf("MSG b0 left bank(B): row stale\n") }
  :: d_step { changed && !away && row[1] == SYNCED -> row[1] = UNSYNCED; printf("MSG b1 left bank(B): row stale\n") }
  /* a new member takes the account over (tried again on later ticks while it fails) */
  :: atomic { changed && row[5] != SYNCED ->
       if :: bz = 0 :: bz = 1 :: bz = 2 :: bz = 3 fi; if :: pf = 0 :: need < 3 -> pf = 1 fi;
       d_step { adopt(5, bz, pf) }; bz = 0; pf = 0 }
  :: atomic { changed && row[6] != SYNCED ->
       if :: bz = 0 :: bz = 1 :: bz = 2 :: bz = 3 fi; if :: pf = 0 :: need < 3 -> pf = 1 fi;
       d_step { adopt(6, bz, pf) }; bz = 0; pf = 0 }
  /* the payer's receipts: done once both majorities signed */
  :: d_step { !acked ->
       ackCount(v0, v1);
       if :: v0 >= need && v1 >= need -> acked = true; printf("MSG A: done (%d debit, %d credit receipts)\n", v0, v1)
          :: else -> skip fi }
  :: d_step { readInFlight && acked -> readB(true) }
  /* the end: every message delivered, the old bank back, the change made */
  :: atomic { changed && !away && debN == 3 &&
              recv[0] == AVAIL(0) && recv[2] == AVAIL(2) && recv[5] == AVAIL(5) && recv[6] == AVAIL(6) -> break }
  od;
  skip;
  d_step {
    /* both-or-none */
    n = 0;
    do
    :: n >= NB -> break
    :: else ->
       if :: HONB(n) && INB(n) && row[n] == SYNCED -> assert(cr[n] == 1) :: else -> skip fi;
       assert(!HONB(n) || cr[n] <= 1);
       n++
    od;
    readB(true);
    /* every message delivered: a read of B then never misses the credit, acknowledged or not */
    assert(v0 < need)
  }
}

/* the weakened variants, chosen when pan is compiled (cc -D...) */
c_code {
\#ifdef OFF_BY_ONE
  int majority_needed = 2;
\#else
  int majority_needed = 3;
\#endif
\#ifdef NO_CREDIT_LIST
  int no_credit_list = 1;
\#else
  int no_credit_list = 0;
\#endif
\#ifdef OLD_HANDOVER
  int lists_in_value = 0;
\#else
  int lists_in_value = 1;
\#endif
\#ifdef READ_IN_FLIGHT
  int read_in_flight = 1;
\#else
  int read_in_flight = 0;
\#endif
}

init {
  c_code {
    now.need = majority_needed; now.noCreditList = no_credit_list; now.readInFlight = read_in_flight;
    now.listsInValue = lists_in_value;
  };
  d_step {
    /* B's account is open at the old bank: members 0, 1, 2 hold it synced, without the credit */
    row[0] = SYNCED; row[1] = SYNCED; row[2] = SYNCED
  };
  atomic { run BankA(); run Network() }
}
