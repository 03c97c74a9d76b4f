/* Headless Chromium opens report.html offline and takes a screenshot
 * without errors. Skipped (77) when /usr/bin/chromium is absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sono/host/report.h>

#include "fixtures.h"

#define CHROMIUM "/usr/bin/chromium"

static int run_chromium(const char *profile, const char *shot, const char *url, const char *log)
{
   char user_data[600], screenshot[600];
   snprintf(user_data, sizeof user_data, "--user-data-dir=%s", profile);
   snprintf(screenshot, sizeof screenshot, "--screenshot=%s", shot);
   pid_t pid = fork();
   if (pid < 0)
      return -1;
   if (pid == 0) {
      if (!freopen(log, "w", stderr) || !freopen("/dev/null", "w", stdout))
         _exit(126);
      execl(CHROMIUM, CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=1200,1600", "--enable-logging=stderr", "--v=0", user_data, screenshot, url, (char *)NULL);
      _exit(127);
   }
   int status = 0;
   if (waitpid(pid, &status, 0) != pid)
      return -1;
   return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void)
{
   if (access(CHROMIUM, X_OK) != 0) {
      printf("SKIP: %s not installed (apt-get install chromium); report.html not opened in a browser\n", CHROMIUM);
      return 77;
   }
   char dir[256], results[512], html[512], shot[512], profile[512], log[512], url[600];
   if (!fixture_temp_dir(dir, sizeof dir) || fixture_write_results(dir, 1) != 0) {
      fprintf(stderr, "FAIL: cannot prepare the fixture report in %s\n", dir);
      return 1;
   }
   snprintf(results, sizeof results, "%s/results.json", dir);
   snprintf(html, sizeof html, "%s/report.html", dir);
   snprintf(shot, sizeof shot, "%s/screenshot.png", dir);
   snprintf(profile, sizeof profile, "%s/profile", dir);
   snprintf(log, sizeof log, "%s/chromium.log", dir);
   snprintf(url, sizeof url, "file://%s", html);
   sono_error_t err = {{0}};
   if (sono_report_write_html(results, html, &err) != 0) {
      fprintf(stderr, "FAIL: %s\n", err.message);
      return 1;
   }
   int rc = run_chromium(profile, shot, url, log);
   char *text = fixture_read_file(log, NULL);
   if (rc != 0) {
      fprintf(stderr, "FAIL: chromium exited with %d; its log:\n%s\n", rc, text ? text : "(none)");
      return 1;
   }
   /* A blocked external load or a script would show in the console log. */
   static const char *const bad[] = {"Content Security Policy", "Refused to", "ERR_", "Uncaught", NULL};
   for (int i = 0; text && bad[i]; ++i)
      if (strstr(text, bad[i])) {
         fprintf(stderr, "FAIL: chromium log mentions \"%s\":\n%s\n", bad[i], text);
         return 1;
      }
   free(text);
   uint32_t w = 0, h = 0;
   uint8_t *rgb = fixture_png_decode(shot, &w, &h);
   if (!rgb || w != 1200 || h != 1600) {
      fprintf(stderr, "FAIL: screenshot %s: expected a 1200 x 1600 PNG, got %ux%u\n", shot, w, h);
      return 1;
   }
   /* The page drew something: the red banner spans the top. */
   uint8_t top[3];
   memcpy(top, rgb + ((size_t)10 * w + 600) * 3u, 3);
   free(rgb);
   if (!(top[0] > 100 && top[1] < 60 && top[2] < 60)) {
      fprintf(stderr, "FAIL: screenshot %s: no red banner at the top (pixel %u,%u,%u)\n", shot, top[0], top[1], top[2]);
      return 1;
   }
   printf("report.html rendered by chromium: %s (%ux%u)\n", shot, w, h);
   return 0;
}
