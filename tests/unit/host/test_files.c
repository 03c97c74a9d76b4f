#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "test_files.h"

void test_copy_file(const char *from, const char *to)
{
   FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
   assert_non_null(a);
   assert_non_null(b);
   char buf[65536];
   size_t n;
   while ((n = fread(buf, 1, sizeof buf, a)) > 0)
      assert_int_equal(fwrite(buf, 1, n, b), n);
   fclose(a);
   fclose(b);
}
