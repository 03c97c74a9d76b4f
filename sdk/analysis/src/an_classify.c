/* Deposit classification: a Gaussian likelihood per class in a space of
 * seven features (clinical-spec F12: echogenicity, posterior column, focus
 * density, comet tails, texture, capsule, anechoic share), normalised into
 * probabilities. "unknown" is a first-class outcome: it wins when no class
 * is likely ([S1]: 20% of patients show mixed patterns).
 *
 * A class may have more than one mode: the same material looks different
 * to the detector in tissue and inside a lumen (the row background there is
 * blood), and foci-bearing materials (PMMA, PCL) in a hypoechoic matrix are
 * often outlined only as the dark matrix between their foci. Each mode has
 * a mean and a spread per feature, measured on the phantom (docs/clinical.md
 * lists the training cases); a class scores by its most likely mode. */
#include <math.h>
#include <string.h>

#include "an_internal.h"

enum { F_ECHO, F_POST, F_DENS, F_TAIL, F_HET, F_CAPS, F_DARK, F_COUNT };

typedef struct mode {
   sono_an_class_t cls;
   float mean[F_COUNT];
   float spread[F_COUNT];
} mode_t;

/* echo dB, posterior dB, foci/mm^2, tail dB, heterogeneity dB, capsule dB,
 * share of pixels 20 dB below background. Means and spreads measured on the
 * deposits matched to the truth in the training batches (seeds 1, 3, 4 and
 * 31337, 40 cases each) and on the filler-<class> presets (seeds 11 and 12);
 * each spread is shrunk towards the floor below with the weight of three
 * deposits, since some modes hold only a few. */
static const mode_t modes[] = {
   {SONO_AN_HA_FRESH, {-20.25f, 2.52f, 0.00f, 0.00f, 7.28f, 20.76f, 0.63f}, {2.61f, 1.14f, 1.57f, 0.52f, 1.10f, 3.32f, 0.17f}},
   /* integrated HA filling a lumen: darker, more heterogeneous (blood within) */
   {SONO_AN_HA_INTEGRATED, {-16.55f, -0.23f, 0.00f, 0.00f, 9.44f, 15.71f, 0.36f}, {2.53f, 1.09f, 2.12f, 0.71f, 0.81f, 4.50f, 0.13f}},
   {SONO_AN_HA_INTEGRATED, {-9.85f, 1.54f, 0.00f, 0.00f, 2.20f, 6.29f, 0.01f}, {1.32f, 1.22f, 1.64f, 0.55f, 0.50f, 1.65f, 0.04f}},
   {SONO_AN_CAHA, {11.30f, -12.30f, 15.65f, 0.76f, 6.06f, -9.13f, 0.00f}, {2.69f, 2.17f, 4.07f, 0.83f, 3.27f, 4.93f, 0.03f}},
   {SONO_AN_CAHA_DILUTED, {8.66f, -4.24f, 14.21f, 0.31f, 2.63f, -4.43f, 0.00f}, {1.10f, 1.13f, 4.00f, 0.60f, 1.39f, 2.37f, 0.03f}},
   /* PMMA: foci with comet tails; the hypoechoic matrix alone; in a lumen */
   {SONO_AN_PMMA, {8.16f, -2.39f, 16.47f, 4.75f, 2.37f, -4.20f, 0.00f}, {1.16f, 2.13f, 2.35f, 1.10f, 0.50f, 2.28f, 0.05f}},
   {SONO_AN_PMMA, {-7.46f, -0.49f, 0.00f, 0.00f, 1.22f, 2.29f, 0.00f}, {1.18f, 1.04f, 1.96f, 0.65f, 0.78f, 2.77f, 0.04f}},
   {SONO_AN_PMMA, {20.27f, 0.13f, 11.51f, 0.92f, 13.38f, -19.33f, 0.00f}, {3.55f, 1.07f, 2.81f, 0.72f, 2.63f, 4.05f, 0.04f}},
   {SONO_AN_SILICONE, {14.08f, -8.42f, 16.69f, 1.87f, 7.42f, -14.52f, 0.00f}, {2.02f, 2.13f, 2.51f, 1.49f, 1.22f, 3.84f, 0.03f}},
   {SONO_AN_PLLA, {7.55f, -0.60f, 11.35f, 0.45f, 1.59f, -2.91f, 0.00f}, {1.06f, 2.17f, 2.57f, 1.14f, 0.70f, 2.26f, 0.04f}},
   /* PCL outlined as its hypoechoic matrix: as PMMA's, the two overlap */
   {SONO_AN_PCL, {-7.29f, 0.01f, 0.23f, 1.03f, 0.88f, 2.02f, 0.00f}, {0.93f, 1.39f, 1.88f, 1.93f, 0.39f, 1.65f, 0.04f}},
   {SONO_AN_COLLAGEN, {-9.03f, 0.13f, 0.00f, 0.00f, 1.50f, 5.63f, 0.00f}, {0.82f, 0.97f, 1.44f, 0.48f, 0.34f, 1.98f, 0.03f}},
   {SONO_AN_PAAG, {-24.62f, 2.03f, 0.00f, 0.00f, 7.25f, 30.53f, 0.85f}, {1.38f, 0.96f, 1.73f, 0.58f, 0.79f, 2.06f, 0.05f}},
};
#define MODE_COUNT (sizeof modes / sizeof modes[0])

/* Spread floor per feature (phantom repeatability of one deposit): a mode's
 * log-likelihood is counted re a mode of floor spreads, so a broad mode pays
 * for its breadth and a narrow one is not favoured beyond what it earns. */
static const float floor_spread[F_COUNT] = {1.5f, 1.5f, 3.0f, 1.0f, 0.6f, 2.5f, 0.06f};

/* Tail scores beyond this are one bright reverberation, not a longer tail. */
#define TAIL_CAP_DB 8.0f

/* Log-likelihood (re floor-spread modes) at which "unknown" is as likely as
 * a class: about 20 / 7 = 2.9 per feature, i.e. every feature ~2.4 spreads
 * off, or a few far off. */
#define UNKNOWN_LOGLIK (-20.0f)

static void to_vector(const sono_an_features_t *f, float *x)
{
   x[F_ECHO] = f->echo_db;
   x[F_POST] = f->posterior_db;
   x[F_DENS] = f->focus_density_mm2;
   x[F_TAIL] = f->tail_score < TAIL_CAP_DB ? f->tail_score : TAIL_CAP_DB;
   x[F_HET] = f->heterogeneity_db;
   x[F_CAPS] = f->capsule_db;
   x[F_DARK] = f->dark_fraction;
}

static float mode_loglik(const mode_t *m, const float *x)
{
   float ll = 0;
   for (int i = 0; i < F_COUNT; ++i) {
      float z = (x[i] - m->mean[i]) / m->spread[i];
      ll += -0.5f * z * z - logf(m->spread[i] / floor_spread[i]);
   }
   return ll;
}

/* Material seen only as a lumen without flow: its echo is all that can be
 * observed. Material as dark as blood is most often fresh HA, whose
 * intraluminal form is identical to the lumen (clinical-spec §7.3, V7);
 * PAAG is as dark but rarely injected near facial vessels. Hypoechoic
 * contents split between integrated HA and collagen. Contents near the
 * tissue level carry foci that the lumen's dark background averages in:
 * PMMA and PCL (matrix -6 and -8 dB, table 7.3) just below it, PLLA (matrix
 * -2 to +4 dB with age) at or above it (training gaps: 4 of 6 so placed).
 * Anything brighter is not classifiable from the lumen.
 * PAAG plugging a lumen keeps its echogenic capsule (+10 dB re fat around a
 * -30 dB core, clinical-spec §7.3) inside the outlined segment, while fresh
 * HA there is as uniform as blood and integrated HA or collagen are mildly
 * textured: heterogeneity separates them (training gaps: PAAG 5.8, 8.0, 9.6,
 * 11.6 dB; fresh HA 5.6, 5.7; integrated HA and collagen 4.4-6.8). */
#define GAP_PAAG_HET_DARK_DB 7.0f  /* blood-dark contents (fresh HA range) */
#define GAP_PAAG_HET_DB 9.0f       /* hypoechoic contents (integrated HA range) */
static void gap_classify(float echo, float het, float *prob, sono_an_class_t *best)
{
   for (int k = 0; k < SONO_AN_CLASS_COUNT; ++k)
      prob[k] = 0.0f;
   if ((echo < -15.0f && het >= GAP_PAAG_HET_DARK_DB) || (echo < -5.0f && het >= GAP_PAAG_HET_DB)) {
      prob[SONO_AN_PAAG] = 0.5f;
      prob[echo < -15.0f ? SONO_AN_HA_FRESH : SONO_AN_HA_INTEGRATED] = 0.3f;
      prob[SONO_AN_UNKNOWN] = 0.2f;
      *best = SONO_AN_PAAG;
   } else if (echo < -15.0f) {
      prob[SONO_AN_HA_FRESH] = 0.7f;
      prob[SONO_AN_PAAG] = 0.15f;
      prob[SONO_AN_UNKNOWN] = 0.15f;
      *best = SONO_AN_HA_FRESH;
   } else if (echo < -5.0f) {
      prob[SONO_AN_HA_INTEGRATED] = 0.45f;
      prob[SONO_AN_COLLAGEN] = 0.35f;
      prob[SONO_AN_UNKNOWN] = 0.2f;
      *best = SONO_AN_HA_INTEGRATED;
   } else if (echo < -2.0f) {
      prob[SONO_AN_PMMA] = 0.35f;
      prob[SONO_AN_PCL] = 0.3f;
      prob[SONO_AN_PLLA] = 0.1f;
      prob[SONO_AN_UNKNOWN] = 0.25f;
      *best = SONO_AN_PMMA;
   } else if (echo < 4.0f) {
      prob[SONO_AN_PLLA] = 0.4f;
      prob[SONO_AN_PMMA] = 0.15f;
      prob[SONO_AN_PCL] = 0.1f;
      prob[SONO_AN_UNKNOWN] = 0.35f;
      *best = SONO_AN_PLLA;
   } else {
      prob[SONO_AN_UNKNOWN] = 1.0f;
      *best = SONO_AN_UNKNOWN;
   }
}

void an_classify(const sono_an_features_t *f, int intraluminal_gap, float *prob, sono_an_class_t *best)
{
   float x[F_COUNT], score[SONO_AN_CLASS_COUNT];
   to_vector(f, x);
   if (intraluminal_gap) {
      gap_classify(x[F_ECHO], x[F_HET], prob, best);
      return;
   }
   for (int k = 0; k < SONO_AN_UNKNOWN; ++k)
      score[k] = -INFINITY;
   for (size_t m = 0; m < MODE_COUNT; ++m) {
      float ll = mode_loglik(&modes[m], x);
      score[modes[m].cls] = ll > score[modes[m].cls] ? ll : score[modes[m].cls];
   }
   score[SONO_AN_UNKNOWN] = UNKNOWN_LOGLIK;
   float top = score[SONO_AN_UNKNOWN];
   for (int k = 0; k < SONO_AN_CLASS_COUNT; ++k)
      top = score[k] > top ? score[k] : top;
   double sum = 0;
   for (int k = 0; k < SONO_AN_CLASS_COUNT; ++k) {
      prob[k] = expf(score[k] - top);
      sum += prob[k];
   }
   int arg = 0;
   for (int k = 0; k < SONO_AN_CLASS_COUNT; ++k) {
      prob[k] = (float)(prob[k] / sum);
      if (prob[k] > prob[arg])
         arg = k;
   }
   *best = arg;
}
