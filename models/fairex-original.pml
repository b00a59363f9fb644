/*
 * The file market of Zuo and Li in its ORIGINAL form: provider P, downloader D,
 * the TTP T and the accounting centre AC, over one sale, with an intruder (see init) that acts as a dishonest
 * provider or a dishonest downloader, loses 2.3 and replays messages. SPIN finds the survey's counterexample:
 * P seals a garbage key K' in Z, D countersigns, T opens Z and hands D the K'
 * P sealed, P deposits the cheque and is paid, and D has neither file nor money. The provider's fairness
 * holds: D gets a key only by countersigning, and T hands P the cheque (3.3) on every dispute, so a D that
 * keeps its 2.3 and goes to T pays all the same.
 *
 * Abstracts (packages/fairex/src/core/):
 *   sale-downloader.ts  startPurchase (1.1), onAccept (1.2), onPiece (2.1), onCheque (2.2 -> 2.3),
 *                       onKey (2.4), disputeBundle (3.1); net/key-recovery.ts resolveKey (2.4, else T)
 *   sale-provider.ts    acceptRequest (1.1 -> 1.2, the serial refused when seen: REPLAY), pieceToSend (2.1),
 *                       chequeMessage / chequeSealing (2.2), onChequeAccepted (2.3 -> 2.4 and the deposit item)
 *   zbox.ts             sealZ / openZ: Z = Enc_T(K, P, D); here Z is the key it holds
 *   dispute.ts          Ttp.resolve (3.1 -> 3.2 and the cheque kept for P, 3.3), Ttp.pendingFor / delivered
 *   accounting.ts, accounting-deposit.ts   Accounting.deposit: a cheque serial pays once; original-form
 *                       cheques are paid at once (no hold, no judge, nothing to void)
 *   cheats.ts           cheatingCheque / cheatRoutes: K' sealed in Z and sent as 2.4
 * Left out: signatures, hashes and encodings (a forged or altered message is assumed refused, as the code
 *   checks them), the manifest and piece hashes (D checks every plain piece, so only the key piece can be
 *   wrong), clocks and expiry, fees, several sales, TTPs or certificates, crashes and restarts (the
 *   retry loops are fairness here: a party that can act eventually does).
 * Every message prints one line "MSG <step> <from> <to> <what>" for the replay (scripts/models/replay-fairex.ts).
 *
 * Fairness assumed (pan -f, weak fairness): a process that stays able to move eventually moves, so T answers
 * every dispute, the AC every deposit, and P deposits a countersigned cheque.
 */
// check: downloader-fair violated -a -f -N downloader_fair
// check: downloader-refund violated -a -f -N downloader_refund
// check: provider-fair holds -a -f -N provider_fair
// check: safety holds -m10000 | -DSAFETY -DNOCLAIM

#define SN 7

mtype = { REQ, OFFER, PIECES, CHEQUE, ACCEPT, KEY, DISPUTE, TTPKEY, TTPCHEQUE, DEPOSIT, PAID, REFUSED }
/* keys: K_GOOD opens the key piece, K_BAD does not, K_NONE is no 2.4 (D's timer fired) */
mtype = { K_NONE, K_GOOD, K_BAD }
/* the intruder's choices for a run: P's behaviour, D's behaviour (only against an honest P: each party's
 * fairness is for when it is honest), and, with either, the network losing 2.3 and replays */
mtype = { HONEST, BAD_Z, BAD_24 }
mtype = { D_HONEST, D_LIES, D_WITHHOLDS }

chan d2p = [1] of { mtype, byte }            /* REQ(sn), ACCEPT(sn) */
chan p2d = [3] of { mtype, mtype }            /* OFFER, PIECES(key piece under K), CHEQUE(Z), KEY(k) */
chan d2t = [1] of { mtype, byte, mtype }      /* DISPUTE(sn, Z) */
chan t2d = [1] of { mtype, mtype }            /* TTPKEY(k) */
chan t2p = [1] of { mtype, byte }            /* TTPCHEQUE(sn): the countersigned cheque kept for P */
chan p2ac = [2] of { mtype, byte }           /* DEPOSIT(sn) */
chan ac2p = [2] of { mtype, byte }           /* PAID(sn), REFUSED(sn) */

mtype p_cheat = HONEST     /* BAD_Z: K' sealed in Z and sent as 2.4 (cheats.ts); BAD_24: K in Z, garbage 2.4 */
mtype d_cheat = D_HONEST   /* D_LIES: disputes though 2.4 opened the piece; D_WITHHOLDS: keeps 2.3, goes to T */
bool lost_23 = false       /* the network loses D's 2.3 */
bool replay = false        /* P deposits the cheque twice; D's request 1.1 comes again after the sale */
bool d_signed = false      /* D countersigned the cheque (2.3): its money is committed */
bool d_has_file = false    /* D holds a key that opens the key piece */
bool d_refunded = false    /* never set in this form: nothing can give D its money back */
bool p_paid = false        /* the AC paid P's cheque */
byte pays = 0              /* payments of this serial */
byte escrow = 1            /* D's certificate holds the price */

proctype Provider() {
  byte sn, r;
  mtype z, k;
  bool accepted = false;
  d2p?REQ(sn);
  atomic { p2d!OFFER(K_NONE); printf("MSG 1.2 P D OFFER\n") }
  atomic { p2d!PIECES(K_GOOD); printf("MSG 2.1 P D PIECES SEK(KP)\n") }
  if
  :: p_cheat == BAD_Z -> z = K_BAD
  :: else -> z = K_GOOD
  fi;
  atomic { p2d!CHEQUE(z); printf("MSG 2.2 P D CHEQUE Z=%e\n", z) }
  /* 2.3, or (lost or withheld) the cheque T kept for P after D's dispute (3.3); P may wait in vain */
end_wait23:
  if
  :: d2p?ACCEPT(r) -> accepted = true
  :: t2p?TTPCHEQUE(r)
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
     /* the same cheque again, and the same request 1.1 again */
     atomic { p2ac!DEPOSIT(sn); printf("MSG dep P AC DEPOSIT sn=%d replayed\n", sn) }
     ac2p?REFUSED(r);
     d2p?REQ(r);
     printf("MSG 1.2 P D REFUSED replay sn=%d\n", r)
  :: else -> skip
  fi
}

proctype Downloader() {
  mtype z, k, x;
  atomic { d2p!REQ(SN); printf("MSG 1.1 D P REQ sn=%d\n", SN) }
  p2d?OFFER(x);
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
  :: k != K_GOOD || d_cheat == D_LIES ->
     /* a lying D disputes although 2.4 opened the piece */
     atomic { d2t!DISPUTE(SN, z); printf("MSG 3.1 D T DISPUTE Z=%e\n", z) }
     t2d?TTPKEY(k);
     if
     :: k == K_GOOD -> d_has_file = true
     :: else -> printf("MSG end D - NOFILE\n")
     fi
  :: else -> skip
  fi;
  if
  :: replay -> atomic { d2p!REQ(SN); printf("MSG 1.1 D P REQ sn=%d replayed\n", SN) }
  :: else -> skip
  fi
}

/* T opens Z and returns what is in it; it cannot tell K from K' (it never sees SEK(KP)) */
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

proctype Ac() {
  byte sn;
end:
  do
  :: p2ac?DEPOSIT(sn) ->
     atomic {
       if
       :: pays == 0 && escrow > 0 ->
          escrow--; pays++; p_paid = true;
          ac2p!PAID(sn); printf("MSG pay AC P PAID sn=%d\n", sn)
       :: else -> ac2p!REFUSED(sn); printf("MSG pay AC P REFUSED sn=%d\n", sn)
       fi
     }
     assert(pays <= 1 && escrow + pays == 1)
  od
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
    run Provider(); run Downloader(); run Ttp(); run Ac()
  }
}

ltl downloader_fair { [] ((d_cheat == D_HONEST && p_paid) -> <> (d_has_file || d_refunded)) }
ltl downloader_refund { [] ((d_cheat == D_HONEST && d_signed) -> <> (d_has_file || d_refunded)) }
ltl provider_fair { [] ((p_cheat == HONEST && d_has_file) -> <> p_paid) }
