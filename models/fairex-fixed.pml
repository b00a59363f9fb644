/*
 * The file market in its FIXED form: provider P, downloader D, the TTP T, the judge J and the accounting
 * centre AC, over one sale, with an intruder (see init) acting as a dishonest provider or downloader, losing 2.3,
 * replaying messages, or spending D's certificate elsewhere first. The cheque C* signs
 * REQ, the manifest, the key piece's index, H(SEK(KP)), H(Z) and the judge, and Z holds the key for J too,
 * so J can tell whether the key P committed to opens the key piece. P reserves the price at the AC before
 * any piece; a deposit is held for the complaint window; a providerBan bans P and voids the cheque, which
 * refunds D from escrow (inside the window) or claws the price back from P (after it). The downloader's
 * fairness holds, and so does its strong form: once an honest D countersigned, it gets the file or its money.
 * The provider's holds too, because J keeps the countersigned cheque for P when its keyOpensPiece verdict
 * hands D the key, as T does (3.3). Without that (cc -DJUDGE_FORGETS, the code before the remedy) it does not:
 * D signs 2.3 but keeps it, complains to J with C* and its own acceptance, J's keyOpensPiece verdict hands it
 * K, and P never gets the countersigned cheque (T would have kept it for P, but D never went to T).
 *
 * Abstracts (packages/fairex/src/core/, beside what fairex-original.pml lists):
 *   sale-provider.ts    acceptRequest with form 'fixed'; net/sale-provider.ts: 'reserve' at the AC before 1.2
 *   sale-downloader.ts  complaint (COMP); net/key-recovery.ts resolveKey (2.4, else T, else J) and complain
 *   judgment.ts         Judge.judge: invalidComplain when D's evidence is not what C* signed (otherRequest,
 *                       otherZ, otherSek, otherManifest) or when K opens the piece (keyOpensPiece, with K, and
 *                       the countersigned cheque kept for P in the verdict's batch: Judge.keep, keptFor);
 *                       providerBan (wrongKey, noJudgeKey) with a ban record otherwise; a complaint without
 *                       D's acceptance (Sig_D) or certificate is refused, so D cannot skip signing
 *   net/deposits.ts     deposit: P picks up what T and J kept for it (one cheque per serial) before depositing
 *   accounting.ts       Accounting.reserve, deposit (held while the window is open, refused FRAUD once void),
 *                       releaseHeld (the window ends), voidCheque (refund from escrow, or clawback after release)
 *   accounting-bans.ts  noteBan: a banned provider's later proceeds are held (one sale here: nothing later)
 *   net/judgment-voids.ts  the judge's void reaches the AC (retried until it does: fairness here)
 * Left out: signatures, hashes and encodings (a forged or altered message is refused, as the code checks
 *   them: D's lie is modelled as evidence that is not what C* signed), the ban's expiry and other sales it
 *   blocks, a clawback that P's balance cannot cover (shortfall: P never withdraws here), clocks and
 *   expiry, fees, several sales, crashes and restarts (retry loops are fairness here).
 * Every message prints one line "MSG <step> <from> <to> <what>" for the replay (scripts/models/replay-fairex.ts).
 *
 * Fairness assumed (pan -f, weak fairness): a process that stays able to move eventually moves, so T, J and
 * the AC answer, the judge's void reaches the AC, P deposits, and the complaint window ends.
 */
// check: downloader-fair holds -a -f -N downloader_fair | -DNFAIR=3
// check: downloader-refund holds -a -f -N downloader_refund | -DNFAIR=3
// check: provider-fair holds -a -f -N provider_fair | -DNFAIR=3
// check: provider-fair-no-keep violated -a -f -N provider_fair | -DNFAIR=3 -DJUDGE_FORGETS
// check: honest-not-banned holds -a -f -N honest_not_banned | -DNFAIR=3
// check: safety holds -m10000 | -DSAFETY -DNOCLAIM

#define SN 7

mtype = { REQ, RESERVE, RESERVED, OFFER, NOSALE, PIECES, CHEQUE, ACCEPT, KEY, DISPUTE, TTPKEY, TTPCHEQUE }
mtype = { DEPOSIT, PAID, HELD, REFUSED, COMP, BAN, INVALID, VOID, JCHEQUE }
/* keys: K_GOOD opens the key piece, K_BAD does not, K_NONE is no 2.4 (D's timer fired) or no key */
mtype = { K_NONE, K_GOOD, K_BAD }
/* the intruder's choices for a run: P's behaviour, D's behaviour (only against an honest P: each party's
 * fairness is for when it is honest), and, with either, the network losing 2.3, replays, a spent certificate */
mtype = { HONEST, BAD_Z, BAD_24 }
mtype = { D_HONEST, D_LIES, D_WITHHOLDS }
/* the AC's record of the sale */
mtype = { C_NONE, C_RESERVED, C_HELD, C_PAID, C_VOID }

chan d2p = [1] of { mtype, byte }            /* REQ(sn), ACCEPT(sn) */
chan p2d = [3] of { mtype, mtype }           /* OFFER / NOSALE, PIECES, CHEQUE(Z), KEY(k) */
chan d2t = [1] of { mtype, byte, mtype }     /* DISPUTE(sn, Z) */
chan t2d = [1] of { mtype, mtype }           /* TTPKEY(k) */
chan t2p = [1] of { mtype, byte }            /* TTPCHEQUE(sn) */
chan d2j = [1] of { mtype, mtype, bool }     /* COMP(Z, evidence is what C* signed) */
chan j2d = [1] of { mtype, mtype }           /* BAN(K_NONE) or INVALID(K when it opens the piece) */
chan j2ac = [1] of { mtype, byte }           /* VOID(sn) */
chan j2p = [1] of { mtype, byte }            /* JCHEQUE(sn): the remedy's copy of the countersigned cheque */
chan p2ac = [2] of { mtype, byte }           /* RESERVE(sn), DEPOSIT(sn) */
chan ac2p = [2] of { mtype, byte }           /* RESERVED / REFUSED, HELD / REFUSED */

mtype p_cheat = HONEST     /* BAD_Z: K' sealed in Z (both boxes) and sent as 2.4 (cheats.ts); BAD_24: garbage 2.4 */
mtype d_cheat = D_HONEST   /* D_LIES: complains to J though 2.4 opened the piece, with C*'s evidence or other;
                              D_WITHHOLDS: signs 2.3 but keeps it, and complains to J with that evidence */
bool lost_23 = false       /* the network loses D's 2.3 */
bool replay = false        /* P deposits the cheque twice; D's request 1.1 comes again after the sale */
bool spent = false         /* D showed its certificate to another provider first: the AC refuses the reservation */
/* the judge keeps the countersigned cheque for P when it hands D the key (keyOpensPiece), as T does (3.3);
 * set in init from the C flags: false only in the weakened variant JUDGE_FORGETS, which is what `spin -t`
 * replays (it runs no C code, so judge_keeps keeps this initial value there) */
bool judge_keeps = false
mtype cst = C_NONE
bool d_signed = false      /* D countersigned C* (2.3): its money is committed */
bool d_has_file = false    /* D holds a key that opens the key piece */
bool d_refunded = false    /* the AC gave D the price back (void) */
bool p_paid = false        /* the AC paid P the price (release after the window) */
bool banned = false        /* J banned P */
byte escrow = 1            /* D's certificate holds the price */
byte elsewhere = 0         /* promised to another provider (spent) */
byte p_bal = 0             /* what P was paid for this sale */
byte d_back = 0            /* what D got back */

proctype Provider() {
  byte sn, r;
  mtype z, k, res;
  bool accepted = false;
  d2p?REQ(sn);
  atomic { p2ac!RESERVE(sn); printf("MSG res P AC RESERVE sn=%d\n", sn) }
  ac2p?res, r;
  if
  :: res == REFUSED -> atomic { p2d!NOSALE(K_NONE); printf("MSG 1.2 P D NOSALE\n") }; goto done
  :: else -> skip
  fi;
  atomic { p2d!OFFER(K_NONE); printf("MSG 1.2 P D OFFER\n") }
  atomic { p2d!PIECES(K_GOOD); printf("MSG 2.1 P D PIECES SEK(KP)\n") }
  if
  :: p_cheat == BAD_Z -> z = K_BAD
  :: else -> z = K_GOOD
  fi;
  atomic { p2d!CHEQUE(z); printf("MSG 2.2 P D CHEQUE Z=%e\n", z) }
  /* 2.3, or (lost or withheld) the cheque T (3.3) or, with the remedy, J kept for P; P may wait in vain */
end_wait23:
  if
  :: d2p?ACCEPT(r) -> accepted = true
  :: t2p?TTPCHEQUE(r)
  :: j2p?JCHEQUE(r)
  fi;
  if
  :: accepted ->
     if
     :: p_cheat == BAD_Z || p_cheat == BAD_24 -> k = K_BAD
     :: else -> k = K_GOOD
     fi;
     atomic { p2d!KEY(k); printf("MSG 2.4 P D KEY K=%e\n", k) }
  :: else -> skip
  fi;
  atomic { p2ac!DEPOSIT(sn); printf("MSG dep P AC DEPOSIT sn=%d\n", sn) }
  ac2p?_, r;
  if
  :: replay ->
     atomic { p2ac!DEPOSIT(sn); printf("MSG dep P AC DEPOSIT sn=%d replayed\n", sn) }
     ac2p?REFUSED(r);
     d2p?REQ(r);
     printf("MSG 1.2 P D REFUSED replay sn=%d\n", r)
  :: else -> skip
  fi;
done:
  skip
}

proctype Downloader() {
  mtype z, k, x, ruling;
  bool truthful;
  atomic { d2p!REQ(SN); printf("MSG 1.1 D P REQ sn=%d\n", SN) }
  if
  :: p2d?NOSALE(x) -> goto done
  :: p2d?OFFER(x)
  fi;
  p2d?PIECES(x);
  p2d?CHEQUE(z);
  atomic {
    d_signed = true;
    if
    :: d_cheat == D_WITHHOLDS -> printf("MSG 2.3 D P ACCEPT withheld\n")
    :: d_cheat != D_WITHHOLDS && lost_23 -> printf("MSG 2.3 D P ACCEPT lost\n")
    :: d_cheat != D_WITHHOLDS && !lost_23 -> d2p!ACCEPT(SN); printf("MSG 2.3 D P ACCEPT\n")
    fi
  }
  if
  :: d_cheat != D_WITHHOLDS && !lost_23 -> p2d?KEY(k)
  :: else -> k = K_NONE   /* no 2.4 comes: D's timer fires (or D does not wait for it) */
  fi;
  if
  :: k == K_GOOD -> d_has_file = true
  :: else -> skip
  fi;
  if
  :: d_cheat == D_WITHHOLDS ->
     /* straight to J with C* and its own acceptance: J needs nothing from P */
     atomic { d2j!COMP(z, true); printf("MSG 4.1 D J COMP Z=%e truthful=1\n", z) }
     j2d?ruling, k;
     if
     :: k == K_GOOD -> d_has_file = true; printf("MSG end D - FILE\n")
     :: else -> skip
     fi
  :: d_cheat == D_LIES ->
     /* a lying complaint: D opened the piece, or shows the judge other evidence than C* signed */
     if
     :: truthful = true
     :: truthful = false
     fi;
     atomic { d2j!COMP(z, truthful); printf("MSG 4.1 D J COMP Z=%e truthful=%d\n", z, truthful) }
     j2d?ruling, k
  :: d_cheat == D_HONEST && k != K_GOOD ->
     atomic { d2t!DISPUTE(SN, z); printf("MSG 3.1 D T DISPUTE Z=%e\n", z) }
     t2d?TTPKEY(k);
     if
     :: k == K_GOOD -> d_has_file = true
     :: else ->
        atomic { d2j!COMP(z, true); printf("MSG 4.1 D J COMP Z=%e truthful=1\n", z) }
        j2d?ruling, k;
        if
        :: k == K_GOOD -> d_has_file = true
        :: else -> skip
        fi
     fi
  :: else -> skip
  fi;
  if
  :: replay -> atomic { d2p!REQ(SN); printf("MSG 1.1 D P REQ sn=%d replayed\n", SN) }
  :: else -> skip
  fi;
done:
  skip
}

proctype Ttp() {
  byte sn;
  mtype z;
end:
  do
  :: d2t?DISPUTE(sn, z) ->
     atomic { t2d!TTPKEY(z); printf("MSG 3.2 T D TTPKEY K=%e\n", z) }
     atomic { t2p!TTPCHEQUE(sn); printf("MSG 3.3 T P TTPCHEQUE sn=%d\n", sn) }
  od
}

/* J opens its box in Z (C* signed H(Z)) and tries the key on SEK(KP) (C* signed its hash) */
proctype Judge() {
  mtype z;
  bool truthful;
end:
  do
  :: d2j?COMP(z, truthful) ->
     if
     :: !truthful -> atomic { j2d!INVALID(K_NONE); printf("MSG 4.2 J D INVALID other-evidence\n") }
     :: truthful && z == K_GOOD ->
        /* the kept cheque is on J's disk before the verdict (and K) leaves; P fetches it when it deposits */
        atomic {
          if
          :: judge_keeps -> j2p!JCHEQUE(SN); printf("MSG 4.3 J P JCHEQUE sn=%d\n", SN)
          :: else -> skip
          fi;
          j2d!INVALID(z); printf("MSG 4.2 J D INVALID key-opens-piece\n")
        }
     :: truthful && z != K_GOOD ->
        atomic { banned = true; j2d!BAN(K_NONE); printf("MSG 4.2 J D BAN wrong-key\n") }
        atomic { j2ac!VOID(SN); printf("MSG 4.3 J AC VOID sn=%d\n", SN) }
     fi
  od
}

proctype Ac() {
  byte sn;
end:
  do
  :: p2ac?RESERVE(sn) ->
     atomic {
       if
       :: escrow > 0 && cst == C_NONE -> cst = C_RESERVED; ac2p!RESERVED(sn); printf("MSG res AC P RESERVED\n")
       :: else -> ac2p!REFUSED(sn); printf("MSG res AC P REFUSED\n")
       fi
     }
  :: p2ac?DEPOSIT(sn) ->
     atomic {
       if
       :: cst == C_RESERVED -> cst = C_HELD; ac2p!HELD(sn); printf("MSG pay AC P HELD sn=%d\n", sn)
       :: cst == C_VOID -> ac2p!REFUSED(sn); printf("MSG pay AC P REFUSED FRAUD sn=%d\n", sn)
       :: else -> ac2p!REFUSED(sn); printf("MSG pay AC P REFUSED paid-once sn=%d\n", sn)
       fi
     }
  :: cst == C_HELD ->
     /* the complaint window ends */
     atomic { cst = C_PAID; escrow--; p_bal++; p_paid = true; printf("MSG rel AC P PAID sn=%d\n", SN) }
  :: j2ac?VOID(sn) ->
     atomic {
       assert(p_cheat == BAD_Z);
       if
       :: cst == C_RESERVED || cst == C_HELD -> escrow--; printf("MSG void AC D REFUND from-escrow\n")
       :: cst == C_PAID -> p_bal--; printf("MSG void AC D REFUND clawback\n")
       fi;
       cst = C_VOID; d_back++; d_refunded = true
     }
  od;
}

/* the weakened variant, chosen when pan is compiled (cc -D...) */
c_code {
\#ifdef JUDGE_FORGETS
  int judge_forgets = 1;
\#else
  int judge_forgets = 0;
\#endif
}

init {
  atomic {
    if
    :: p_cheat = BAD_Z
    :: p_cheat = HONEST
    :: p_cheat = BAD_24
    fi;
    if
    :: p_cheat == HONEST ->
       if
       :: d_cheat = D_HONEST
       :: d_cheat = D_LIES
       :: d_cheat = D_WITHHOLDS
       fi
    :: else -> skip
    fi;
    if
    :: lost_23 = false
    :: lost_23 = true
    fi;
    if
    :: replay = false
    :: replay = true
    fi;
    if
    :: spent = false
    :: spent = true; escrow = 0; elsewhere = 1
    fi;
    c_code { now.judge_keeps = !judge_forgets; };
    /* one line per choice made, for the replay */
    if
    :: p_cheat != HONEST -> printf("MSG intr - - %e\n", p_cheat)
    :: else -> skip
    fi;
    if
    :: d_cheat != D_HONEST -> printf("MSG intr - - %e\n", d_cheat)
    :: else -> skip
    fi;
    if
    :: lost_23 -> printf("MSG intr - - LOST_23\n")
    :: else -> skip
    fi;
    if
    :: replay -> printf("MSG intr - - REPLAY\n")
    :: else -> skip
    fi;
    if
    :: spent -> printf("MSG intr - - SPENT\n")
    :: else -> skip
    fi;
    run Provider(); run Downloader(); run Ttp(); run Judge(); run Ac()
  }
}

/* money is neither made nor lost, and the sale is paid to P or back to D, never both */
active proctype Conservation() {
end:
  atomic { !(escrow + elsewhere + p_bal + d_back == 1 && p_bal + d_back <= 1) -> assert(false) }
}

ltl downloader_fair { [] ((d_cheat == D_HONEST && p_paid) -> <> (d_has_file || d_refunded)) }
ltl downloader_refund { [] ((d_cheat == D_HONEST && d_signed) -> <> (d_has_file || d_refunded)) }
ltl provider_fair { [] ((p_cheat == HONEST && d_has_file) -> <> p_paid) }
ltl honest_not_banned { [] (p_cheat != BAD_Z -> !banned) }
