/* File helpers shared by the host's unit tests. */
#ifndef SONO_TEST_FILES_H
#define SONO_TEST_FILES_H

/* Copies `from` to `to`; fails the running cmocka test on any error. */
void test_copy_file(const char *from, const char *to);

#endif
