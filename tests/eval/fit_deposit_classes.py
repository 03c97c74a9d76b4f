#!/usr/bin/env python3
"""Fits the deposit-class modes of sdk/analysis/src/an_classify.c.

Input: one file per seed, named s<SEED>.dump, written by
  sono-eval intravascular --n 40 --seed S --dump-features s<SEED>.dump
It holds one "D" line per truth deposit matched to a reported one (truth
class, reported class, outline areas and IoU, reported centroid, the class
probabilities, then the plugin's class_features attribute: from a lumen
gap, and the seven features the classifier read on the last frame).

The model is the one an_classify.c evaluates: per class one or two modes
(the material seen brighter or darker than the tissue row, when both have
--min-mode deposits), each the median and 1.4826 x the median absolute
deviation of every feature, shrunk towards a floor with the weight of three
deposits and never under it; a class scores by its most likely mode, the
log-likelihood counted against a mode of floor spreads. Everything is chosen
by leave-one-SEED-out accuracy over the training seeds (a deposit's
neighbours in the same case and seed share its rendering, so per-case
folds flatter the fit); validation seeds are only scored.

Usage: fit_deposit_classes.py DIR --train 1,3,101,... [--validate 160,...]
       [--shipped-seeds 1,3,101,...]   (seeds the shipped table was fitted on)
       [--emit]   (prints the C table of modes)
On the training seeds the shipped table was NOT fitted on, the chosen refit
(leave-one-seed-out) and the shipped classifier are compared deposit by
deposit: a refit is worth shipping only if it beats the shipped table there.
Needs python3 and numpy (Debian python3-numpy); CI does not run it.
"""
import argparse
import glob
import os
import re
import sys

import numpy as np

CLASSES = ["ha_fresh", "ha_integrated", "caha", "caha_diluted", "pmma", "silicone", "plla", "pcl", "collagen",
           "paag", "unknown"]
C_NAMES = ["SONO_AN_HA_FRESH", "SONO_AN_HA_INTEGRATED", "SONO_AN_CAHA", "SONO_AN_CAHA_DILUTED", "SONO_AN_PMMA",
           "SONO_AN_SILICONE", "SONO_AN_PLLA", "SONO_AN_PCL", "SONO_AN_COLLAGEN", "SONO_AN_PAAG"]
K = 10
FEATURES = ["echo", "post", "dens", "tail", "het", "caps", "dark"]
TAIL_CAP_DB = 8.0


def load(path, seed):
    rows = []
    for line in open(path):
        t = line.partition(" | ")[0].split()
        if len(t) < 31 or t[0] != "D" or "?" in t[23:31]:
            continue
        ta, ra, iou = map(float, t[7:10])
        f = np.array([float(x) for x in t[24:31]])
        f[3] = min(f[3], TAIL_CAP_DB)
        p_true = float(t[12 + CLASSES.index(t[3])])  # the reported probability of the true class
        rows.append(dict(seed=seed, case=int(t[2]), tc=t[3], tp=t[4], pc=t[5], pp=t[6], true_area=ta, p_true=p_true,
                         rep_area=ra, iou=iou, gap=int(t[23]), x=f))
    return rows


def load_dir(d, seeds):
    out = []
    for s in seeds:
        p = os.path.join(d, "s%d.dump" % s)
        if os.path.exists(p):
            out += load(p, s)
        else:
            print("missing %s" % p, file=sys.stderr)
    return out


class Modes:
    def __init__(self, floor, w0=3.0, min_mode=4):
        self.floor, self.w0, self.min_mode = np.asarray(floor), w0, min_mode

    def fit(self, X, y):
        self.modes = []
        for k in range(K):
            Xk = X[y == k]
            if len(Xk) == 0:
                continue
            parts = [Xk]
            bright = Xk[:, 0] > 0
            if bright.sum() >= self.min_mode and (~bright).sum() >= self.min_mode:
                parts = [Xk[bright], Xk[~bright]]
            for p in parts:
                med = np.median(p, 0)
                mad = 1.4826 * np.median(np.abs(p - med), 0)
                sp = np.maximum((len(p) * mad + self.w0 * self.floor) / (len(p) + self.w0), self.floor)
                self.modes.append((k, med, sp, len(p)))
        return self

    def loglik(self, X):
        L = np.full((len(X), K), -np.inf)
        for k, med, sp, n in self.modes:
            z = (X - med) / sp
            L[:, k] = np.maximum(L[:, k], (-0.5 * z * z - np.log(sp / self.floor)).sum(1))
        return L


def decide(L, unknown, temperature):
    S = np.concatenate([L, np.full((len(L), 1), unknown)], 1)
    S = (S - S.max(1, keepdims=True)) / temperature
    P = np.exp(S)
    P /= P.sum(1, keepdims=True)
    return P.argmax(1), P


def xy(rows):
    return np.array([r["x"] for r in rows]), np.array([CLASSES.index(r["tc"]) for r in rows]), \
        np.array([r["seed"] for r in rows])


def loso(make, X, y, s):
    L = np.zeros((len(y), K))
    for seed in np.unique(s):
        tr = s != seed
        L[~tr] = make().fit(X[tr], y[tr]).loglik(X[~tr])
    return L


def confusion(y, pred):
    M = np.zeros((11, 11), int)
    for a, b in zip(y, pred):
        M[a, b] += 1
    out = ["%-14s" % "truth \\ pred" + "".join("%7s" % c[:6] for c in CLASSES) + "   right"]
    for i in range(11):
        if M[i].sum():
            out.append("%-14s" % CLASSES[i] + "".join("%7d" % v for v in M[i]) + "   %d/%d" % (M[i, i], M[i].sum()))
    return "\n".join(out)


def outline_split(rows, label):
    """Errors whose outline covers under 30% (IoU) of the true deposit, or
    a neighbour: the features describe something else."""
    wrong = [r for r in rows if r["tc"] != r["pc"]]
    bad = [r for r in wrong if r["iou"] < 0.3]
    print("%s: %d deposits, %d wrong: %d with the outline off (IoU < 0.3), %d feature overlap" %
          (label, len(rows), len(wrong), len(bad), len(wrong) - len(bad)))
    for c in CLASSES[:K]:
        R = [r for r in rows if r["tc"] == c]
        if R:
            w = [r for r in wrong if r["tc"] == c]
            ratio = np.median([r["rep_area"] / max(r["true_area"], 1e-9) for r in R])
            print("  %-14s %3d deposits, %3d wrong (%d outline, %d overlap); median outline/true area %.2f, IoU %.2f" %
                  (c, len(R), len(w), sum(r["iou"] < 0.3 for r in w), sum(r["iou"] >= 0.3 for r in w), ratio,
                   np.median([r["iou"] for r in R])))


# the capsule is the rim band re the tissue beside it, measured to ~1 dB
# within a class (it was the band above the top re the interior, which
# restated the echo, with a 2.5 dB floor)
FLOOR = np.array([1.5, 1.5, 3.0, 1.0, 0.6, 1.0, 0.06])


def emit(model, unknown, temperature):
    print("/* generated by tests/eval/fit_deposit_classes.py --emit */")
    for k, med, sp, n in model.modes:
        print("   {%s, {%s}, {%s}}, /* %d */" % (C_NAMES[k], ", ".join("%.2ff" % v for v in med),
                                               ", ".join("%.2ff" % v for v in sp), n))
    print("floor {%s} unknown %.1f temperature %.1f" % (", ".join("%.2ff" % v for v in model.floor), unknown,
                                                        temperature))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--train", required=True)
    ap.add_argument("--validate", default="")
    ap.add_argument("--shipped-seeds", default="1,3,101,102,103,104,105,106,107,108")
    ap.add_argument("--emit", action="store_true")
    a = ap.parse_args()
    train = [int(v) for v in a.train.split(",")]
    val = [int(v) for v in a.validate.split(",") if v]
    rows = load_dir(a.dir, train)
    outline_split(rows, "training, shipped classifier")
    B = [r for r in rows if not r["gap"]]
    X, y, s = xy(B)
    print("training: %d deposits not from a lumen gap over %d seeds; shipped classifier right on %d" %
          (len(B), len(set(s)), sum(r["tc"] == r["pc"] for r in B)))
    # the choice: floor of the heterogeneity (the texture separating integrated
    # HA from collagen is measured to ~0.25 dB), overall floor scale, unknown
    best = None
    for het in (0.6, 0.4, 0.25):
        for scale in (0.7, 1.0, 1.4):
            floor = FLOOR * scale
            floor[4] = het
            L = loso(lambda: Modes(floor), X, y, s)
            for unknown in (-20.0, -40.0, -60.0):
                pred, _ = decide(L, unknown, 1.0)
                acc = (pred == y).mean()
                print("  het floor %.2f, floors x%.1f, unknown %.0f: leave-one-seed-out %.3f" % (het, scale, unknown, acc))
                if best is None or acc > best[0] + 1e-9:
                    best = (acc, floor, unknown, L)
    acc, floor, unknown, L = best
    # temperature: the log-likelihoods overstate the evidence (the features
    # of one deposit move together); chosen so that the mean top probability
    # matches the leave-one-seed-out accuracy (calibrated on average)
    tbest = None
    for t in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0):
        pred, P = decide(L, unknown, t)
        ll = -np.log(np.maximum(P[np.arange(len(y)), y], 1e-6)).mean()
        print("  temperature %.0f: mean top probability %.3f, log-loss of the true class %.3f" % (t, P.max(1).mean(), ll))
        gap = abs(P.max(1).mean() - acc)
        if tbest is None or gap < tbest[0]:
            tbest = (gap, t)
    t = tbest[1]
    pred, P = decide(L, unknown, t)
    print("chosen: floors %s, unknown %.0f, temperature %.0f; leave-one-seed-out %d/%d = %.3f, mean top p %.3f" %
          (np.round(floor, 2), unknown, t, (pred == y).sum(), len(y), acc, P.max(1).mean()))
    print(confusion(y, pred))
    compare_unseen(B, y, pred, [int(v) for v in a.shipped_seeds.split(",") if v])
    model = Modes(floor).fit(X, y)
    if val:
        vrows = load_dir(a.dir, val)
        outline_split(vrows, "validation, shipped classifier")
        VB = [r for r in vrows if not r["gap"]]
        VX, vy, _ = xy(VB)
        vp, VP = decide(model.loglik(VX), unknown, t)
        shipped_p = np.array([max(r["p_true"], 1e-6) for r in VB])
        print("validation (deposits not from a lumen gap): shipped %d/%d (mean -log p of the true class %.3f), "
              "refitted %d/%d (%.3f), mean top p %.3f" %
              (sum(r["tc"] == r["pc"] for r in VB), len(VB), -np.log(shipped_p).mean(), (vp == vy).sum(), len(vy),
               -np.log(np.maximum(VP[np.arange(len(vy)), vy], 1e-6)).mean(), VP.max(1).mean()))
        print("shipped:\n" + confusion(vy, np.array([CLASSES.index(r["pc"]) for r in VB])))
        print("refitted:\n" + confusion(vy, vp))
    gap_fit(rows, load_dir(a.dir, val) if val else [])
    if a.emit:
        emit(model, unknown, t)


def compare_unseen(rows, y, pred, shipped_seeds):
    """Shipped classifier against the leave-one-seed-out refit on the seeds
    the shipped table never saw (elsewhere the shipped figure is in-sample)."""
    unseen = np.array([r["seed"] not in shipped_seeds for r in rows])
    if not unseen.any():
        return
    shipped = np.array([CLASSES.index(r["pc"]) for r in rows])
    print("seeds outside the shipped fit (%d deposits): shipped %d, refit %d right" %
          (unseen.sum(), (shipped[unseen] == y[unseen]).sum(), (pred[unseen] == y[unseen]).sum()))
    for k in range(K):
        m = unseen & (y == k)
        if m.any():
            print("  %-14s shipped %d/%d, refit %d/%d" % (CLASSES[k], (shipped[m] == k).sum(), m.sum(),
                                                          (pred[m] == k).sum(), m.sum()))


def gap_fit(rows, vrows):
    """Lumen segments without flow and without a B-mode deposit: only the
    echo and heterogeneity of the segment are observed. Compares the rule of
    an_classify.c (the reported class) with modes of those two features."""
    G = [r for r in rows if r["gap"]]
    if not G:
        return
    X, y, s = xy(G)
    X = X[:, [0, 4]]
    print("lumen-gap deposits: %d, rule right on %d" % (len(G), sum(r["tc"] == r["pc"] for r in G)))
    for fl in ((1.5, 0.6), (3.0, 1.0), (5.0, 2.0)):
        for mm in (4, 100):
            L = loso(lambda: Modes(np.array(fl), min_mode=mm), X, y, s)
            pred, _ = decide(L, -40.0, 1.0)
            print("  gap modes floors %s, two modes from %d: leave-one-seed-out %d/%d" % (fl, mm, (pred == y).sum(), len(y)))
    if vrows:
        V = [r for r in vrows if r["gap"]]
        print("  validation lumen-gap deposits: %d, rule right on %d" % (len(V), sum(r["tc"] == r["pc"] for r in V)))


if __name__ == "__main__":
    main()
