/* sono-conform: what a plugin binary exports and links, read from its ELF
 * headers (no libelf: the checks must not trust a library to parse a
 * hostile file). Ownership: caller-owned struct, no heap after return. */
#ifndef SONO_CONFORM_ELFSCAN_H
#define SONO_CONFORM_ELFSCAN_H

#include <stdint.h>

#define CF_ELF_MAX_NAMES 256
#define CF_ELF_NAME_SIZE 128

typedef struct cf_elf {
   char path[4096];
   const uint8_t *bytes;  /* only while reading */
   uint64_t size;
   char exports[CF_ELF_MAX_NAMES][CF_ELF_NAME_SIZE];  /* defined, default-visible dynamic symbols */
   unsigned export_count;
   char needed[CF_ELF_MAX_NAMES][CF_ELF_NAME_SIZE];   /* DT_NEEDED */
   unsigned needed_count;
   int has_gnu_stack;
   uint32_t stack_flags;                              /* PF_R|PF_W|PF_X of PT_GNU_STACK */
   char error[4200];
} cf_elf_t;

/* Returns 0, or -1 with `error` naming the file and the problem. */
int cf_elf_read(cf_elf_t *e, const char *path);

/* 0: allowed, 1: allowed with a warning (C++ runtime, sanitizer runtime),
 * 2: not on the allow-list. */
int cf_elf_library_verdict(const char *soname);

#endif
