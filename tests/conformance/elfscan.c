/* Reads what the dynamic linker will see in a plugin binary, with <elf.h>
 * and bounds checks on every offset (the file under test may be hostile):
 * exported symbols from .dynsym, DT_NEEDED libraries from .dynamic, and the
 * PT_GNU_STACK flags. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elfscan.h"

static int in_file(const cf_elf_t *e, uint64_t off, uint64_t size)
{
   return off <= e->size && size <= e->size - off;
}

static const char *str_at(const cf_elf_t *e, const Elf64_Shdr *strtab, uint64_t index)
{
   if (!strtab || index >= strtab->sh_size || !in_file(e, strtab->sh_offset, strtab->sh_size))
      return NULL;
   const char *s = (const char *)e->bytes + strtab->sh_offset + index;
   return memchr(s, '\0', strtab->sh_size - index) ? s : NULL;
}

static int elf_fail(cf_elf_t *e, const char *what)
{
   snprintf(e->error, sizeof e->error, "%s: %s", e->path, what);
   return -1;
}

static int read_sections(cf_elf_t *e, const Elf64_Ehdr *h)
{
   if (h->e_shentsize != sizeof(Elf64_Shdr) || !in_file(e, h->e_shoff, (uint64_t)h->e_shnum * sizeof(Elf64_Shdr)))
      return elf_fail(e, "section header table is outside the file");
   const Elf64_Shdr *sh = (const Elf64_Shdr *)(e->bytes + h->e_shoff);
   for (unsigned i = 0; i < h->e_shnum; ++i) {
      const Elf64_Shdr *s = &sh[i];
      if (s->sh_type != SHT_DYNSYM && s->sh_type != SHT_DYNAMIC)
         continue;
      if (s->sh_link >= h->e_shnum || !in_file(e, s->sh_offset, s->sh_size))
         return elf_fail(e, "a dynamic section is outside the file");
      const Elf64_Shdr *strtab = &sh[s->sh_link];
      if (s->sh_type == SHT_DYNSYM) {
         size_t n = s->sh_size / sizeof(Elf64_Sym);
         const Elf64_Sym *sym = (const Elf64_Sym *)(e->bytes + s->sh_offset);
         for (size_t k = 1; k < n; ++k) {
            int bind = ELF64_ST_BIND(sym[k].st_info);
            if (sym[k].st_shndx == SHN_UNDEF || (sym[k].st_shndx == SHN_ABS && sym[k].st_value == 0))
               continue;
            if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE)
               continue;
            if (ELF64_ST_VISIBILITY(sym[k].st_other) == STV_HIDDEN ||
                ELF64_ST_VISIBILITY(sym[k].st_other) == STV_INTERNAL)
               continue;
            const char *name = str_at(e, strtab, sym[k].st_name);
            if (name && e->export_count < CF_ELF_MAX_NAMES)
               snprintf(e->exports[e->export_count++], CF_ELF_NAME_SIZE, "%s", name);
         }
      } else {
         size_t n = s->sh_size / sizeof(Elf64_Dyn);
         const Elf64_Dyn *d = (const Elf64_Dyn *)(e->bytes + s->sh_offset);
         for (size_t k = 0; k < n && d[k].d_tag != DT_NULL; ++k) {
            if (d[k].d_tag != DT_NEEDED)
               continue;
            const char *name = str_at(e, strtab, d[k].d_un.d_val);
            if (name && e->needed_count < CF_ELF_MAX_NAMES)
               snprintf(e->needed[e->needed_count++], CF_ELF_NAME_SIZE, "%s", name);
         }
      }
   }
   return 0;
}

static int read_segments(cf_elf_t *e, const Elf64_Ehdr *h)
{
   if (h->e_phentsize != sizeof(Elf64_Phdr) || !in_file(e, h->e_phoff, (uint64_t)h->e_phnum * sizeof(Elf64_Phdr)))
      return elf_fail(e, "program header table is outside the file");
   const Elf64_Phdr *ph = (const Elf64_Phdr *)(e->bytes + h->e_phoff);
   e->has_gnu_stack = 0;
   for (unsigned i = 0; i < h->e_phnum; ++i)
      if (ph[i].p_type == PT_GNU_STACK) {
         e->has_gnu_stack = 1;
         e->stack_flags = ph[i].p_flags;
      }
   return 0;
}

int cf_elf_read(cf_elf_t *e, const char *path)
{
   memset(e, 0, sizeof *e);
   snprintf(e->path, sizeof e->path, "%s", path);
   int fd = open(path, O_RDONLY | O_CLOEXEC);
   struct stat st;
   if (fd < 0 || fstat(fd, &st) != 0) {
      if (fd >= 0)
         close(fd);
      return elf_fail(e, "cannot open the file");
   }
   e->size = (uint64_t)st.st_size;
   if (e->size < sizeof(Elf64_Ehdr)) {
      close(fd);
      return elf_fail(e, "file too small for an ELF header");
   }
   void *m = mmap(NULL, e->size, PROT_READ, MAP_PRIVATE, fd, 0);
   close(fd);
   if (m == MAP_FAILED)
      return elf_fail(e, "cannot map the file");
   e->bytes = m;
   const Elf64_Ehdr *h = m;
   int rc = -1;
   if (memcmp(h->e_ident, ELFMAG, SELFMAG) != 0)
      elf_fail(e, "not an ELF file (bad magic)");
   else if (h->e_ident[EI_CLASS] != ELFCLASS64)
      elf_fail(e, "not a 64-bit ELF file");
   else if (h->e_type != ET_DYN)
      elf_fail(e, "not a shared object (e_type is not ET_DYN)");
   else if (read_sections(e, h) == 0 && read_segments(e, h) == 0)
      rc = 0;
   munmap(m, e->size);
   e->bytes = NULL;
   return rc;
}

/* Allow-list entries are matched on the name before ".so". */
static const char *const allowed[] = {"libc", "libm", "libpthread", "libdl", "librt", "libgcc_s",
                                      "libfftw3f", "liblapacke", "liblapack", "libblas", "libopenblas",
                                      "libcblas", "ld-linux-x86-64", "ld-linux-aarch64", NULL};
static const char *const warned[] = {"libstdc++", "libasan", "libubsan", "liblsan", "libtsan", NULL};

int cf_elf_library_verdict(const char *soname)
{
   size_t stem = strcspn(soname, ".");
   if (strstr(soname, ".so"))
      stem = (size_t)(strstr(soname, ".so") - soname);
   for (const char *const *a = allowed; *a; ++a)
      if (strlen(*a) == stem && strncmp(soname, *a, stem) == 0)
         return 0;
   for (const char *const *w = warned; *w; ++w)
      if (strlen(*w) == stem && strncmp(soname, *w, stem) == 0)
         return 1;
   return 2;
}
