#include "rec_test_util.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *rt_tmpdir(void)
{
   const char *base = getenv("TMPDIR");
   char *dir = rt_path(base && *base ? base : "/tmp", "sono-rec-XXXXXX");
   if (!mkdtemp(dir)) {
      perror("mkdtemp");
      abort();
   }
   return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
   (void)st;
   (void)flag;
   (void)ftw;
   return remove(path);
}

void rt_rmtree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

char *rt_path(const char *dir, const char *name)
{
   size_t n = strlen(dir) + strlen(name) + 2;
   char *p = malloc(n);
   if (!p)
      abort();
   snprintf(p, n, "%s/%s", dir, name);
   return p;
}

void rt_write_file(const char *path, const void *data, size_t size)
{
   FILE *f = fopen(path, "wb");
   if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
      perror(path);
      abort();
   }
}

void rt_write_text(const char *path, const char *text) { rt_write_file(path, text, strlen(text)); }

void rt_write_json(const char *path, const cJSON *root)
{
   char *text = cJSON_Print(root);
   rt_write_text(path, text);
   free(text);
}

int rt_count_entries(const char *dir)
{
   DIR *d = opendir(dir);
   int n = 0;
   for (struct dirent *e; d && (e = readdir(d));)
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
         ++n;
   if (d)
      closedir(d);
   return n;
}

static const char base_header[] = "{"
   "\"format\": \"sono.recording\", \"version\": 1, \"description\": \"unit test\","
   "\"acquisition\": {\"center_frequency_hz\": 15e6, \"sound_speed_m_s\": 1540, \"prf_hz\": 4000,"
   "                  \"steering_angle_rad\": 0.1, \"sampling_frequency_hz\": 60e6, \"frame_rate_hz\": 20},"
   "\"probe\": {\"name\": \"L18-6\", \"elements\": 192, \"pitch_m\": 1e-4},"
   "\"grid\": {\"nx\": 3, \"nz\": 4, \"dx_m\": 5e-5, \"dz_m\": 2.5e-5, \"x0_m\": -6.4e-3, \"z0_m\": 0},"
   "\"planes\": {"
   "  \"iq\": {\"file\": \"scan.iq.bin\", \"dtype\": \"complex64\", \"axes\": [\"z\", \"x\", \"ensemble\", \"frame\"],"
   "          \"shape\": [4, 3, 2, 2], \"order\": \"F\", \"offset_bytes\": 0},"
   "  \"bmode\": {\"file\": \"scan.bmode.bin\", \"dtype\": \"uint8\", \"axes\": [\"z\", \"x\", \"frame\"],"
   "             \"shape\": [4, 3, 2], \"order\": \"F\"}"
   "},"
   "\"ground_truth\": {\"generator\": \"unit test\"}"
   "}";

cJSON *rt_base_header(void) { return cJSON_Parse(base_header); }

void rt_write_base_data(const char *dir, long iq_delta)
{
   size_t iq_size = (size_t)((long)RT_IQ_BYTES + iq_delta);
   float *iq = calloc(1, iq_size + 8);
   unsigned char bmode[RT_BMODE_BYTES];
   if (!iq)
      abort();
   for (size_t i = 0; i < iq_size / sizeof(float); ++i)
      iq[i] = (float)i * 0.5f;
   for (size_t i = 0; i < sizeof bmode; ++i)
      bmode[i] = (unsigned char)i;
   char *p = rt_path(dir, "scan.iq.bin");
   rt_write_file(p, iq, iq_size);
   free(p);
   p = rt_path(dir, "scan.bmode.bin");
   rt_write_file(p, bmode, sizeof bmode);
   free(p);
   free(iq);
}

int rt_set(cJSON *root, const char *path, const char *json)
{
   char buf[256];
   snprintf(buf, sizeof buf, "%s", path);
   cJSON *parent = root;
   char *key = buf;
   for (char *dot; (dot = strchr(key, '.'));) {
      *dot = '\0';
      parent = cJSON_GetObjectItemCaseSensitive(parent, key);
      if (!parent)
         return -1;
      key = dot + 1;
   }
   if (!json) {
      cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
      return 0;
   }
   cJSON *value = cJSON_Parse(json);
   if (!value)
      return -1;
   if (cJSON_GetObjectItemCaseSensitive(parent, key))
      return cJSON_ReplaceItemInObjectCaseSensitive(parent, key, value) ? 0 : -1;
   return cJSON_AddItemToObject(parent, key, value) ? 0 : -1;
}
