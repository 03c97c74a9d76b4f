/* Deposit classification: distance to one prototype per class in a space
 * of six features (clinical-spec F12: echogenicity, posterior column,
 * focus density, comet tails, texture, capsule), turned into probabilities
 * with a softmax. "unknown" is a first-class outcome: it wins when no
 * prototype is close ([S1]: 20% of patients show mixed patterns).
 *
 * Prototype values: the patterns of clinical-spec §1 (F1-F12) and table
 * 7.3, expressed as the feature values this module measures on phantom
 * deposits of each class at 18 MHz (docs/clinical.md lists them and how
 * they were measured). */
#include <string.h>

#include "an_internal.h"

enum { F_ECHO, F_POST, F_DENS, F_TAIL, F_HET, F_CAPS, F_COUNT };

typedef struct proto {
   float mean[F_COUNT];
} proto_t;

/* echo dB, posterior dB, foci/mm^2, tail dB, heterogeneity dB, capsule dB.
 * HA fresh/integrated, CaHA, CaHA diluted, silicone, collagen and PAAG are
 * the features measured on the phantom's filler-<class> presets (training
 * seed 5, 18 MHz, docs/clinical.md); PMMA, PLLA and PCL, whose foci the
 * detector does not yet separate from speckle, keep values from the
 * descriptions of clinical-spec table 7.3. */
static const proto_t protos[SONO_AN_UNKNOWN] = {
   [SONO_AN_HA_FRESH] = {{-20.4f, 3.5f, 0.0f, 0.0f, 7.6f, 20.6f}},
   [SONO_AN_HA_INTEGRATED] = {{-9.2f, 0.9f, 0.0f, 0.0f, 2.0f, 5.0f}},
   [SONO_AN_CAHA] = {{11.0f, -14.0f, 18.0f, 0.4f, 4.4f, -9.0f}},
   [SONO_AN_CAHA_DILUTED] = {{7.6f, -4.4f, 13.4f, 0.0f, 1.3f, -2.4f}},
   [SONO_AN_PMMA] = {{0.0f, 1.0f, 3.0f, 4.0f, 5.0f, 0.0f}},
   [SONO_AN_SILICONE] = {{14.6f, -9.2f, 20.3f, 0.6f, 6.1f, -14.2f}},
   [SONO_AN_PLLA] = {{5.0f, -1.0f, 6.0f, 0.0f, 4.0f, -4.0f}},
   [SONO_AN_PCL] = {{-2.0f, 1.0f, 4.0f, 3.0f, 5.0f, 0.0f}},
   [SONO_AN_COLLAGEN] = {{-8.8f, -0.1f, 0.0f, 0.0f, 1.4f, 5.0f}},
   [SONO_AN_PAAG] = {{-25.9f, 2.6f, 0.0f, 0.0f, 6.3f, 32.2f}},
};

/* Spread of each feature within a class (phantom repeatability), which sets
 * how far a feature may stray before a class becomes unlikely. */
static const float spread[F_COUNT] = {2.5f, 2.0f, 3.0f, 1.5f, 1.5f, 4.0f};

/* Squared distance beyond which "unknown" dominates (chi-square-like). */
#define UNKNOWN_D2 30.0f

static void to_vector(const sono_an_features_t *f, float *x)
{
   x[F_ECHO] = f->echo_db;
   x[F_POST] = f->posterior_db;
   x[F_DENS] = f->focus_density_mm2;
   x[F_TAIL] = f->tail_score;
   x[F_HET] = f->heterogeneity_db;
   x[F_CAPS] = f->capsule_db;
}

/* Material seen only as a lumen without flow: its echo is all that can be
 * observed, and material as dark as blood is most often fresh HA, whose
 * intraluminal form is identical to the lumen (clinical-spec §7.3, V7);
 * PAAG is as dark but rarely injected near facial vessels. Brighter
 * contents split between integrated HA and collagen; beyond that the
 * material is not classifiable from the lumen. */
static void gap_classify(float echo, float *prob, sono_an_class_t *best)
{
   for (int k = 0; k < SONO_AN_CLASS_COUNT; ++k)
      prob[k] = 0.0f;
   if (echo < -15.0f) {
      prob[SONO_AN_HA_FRESH] = 0.7f;
      prob[SONO_AN_PAAG] = 0.15f;
      prob[SONO_AN_UNKNOWN] = 0.15f;
      *best = SONO_AN_HA_FRESH;
   } else if (echo < -5.0f) {
      prob[SONO_AN_HA_INTEGRATED] = 0.45f;
      prob[SONO_AN_COLLAGEN] = 0.35f;
      prob[SONO_AN_UNKNOWN] = 0.2f;
      *best = SONO_AN_HA_INTEGRATED;
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
      gap_classify(x[F_ECHO], prob, best);
      return;
   }
   float top = -1e30f;
   for (int k = 0; k < SONO_AN_UNKNOWN; ++k) {
      float d2 = 0;
      for (int i = 0; i < F_COUNT; ++i) {
         /* Inside a lumen only echo and texture are observable: the posterior
          * column is blood and there is no capsule edge against tissue. */
         if (intraluminal_gap && i != F_ECHO && i != F_HET)
            continue;
         float z = (x[i] - protos[k].mean[i]) / spread[i];
         d2 += z * z;
      }
      score[k] = -0.5f * d2;
   }
   score[SONO_AN_UNKNOWN] = -0.5f * UNKNOWN_D2;
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
