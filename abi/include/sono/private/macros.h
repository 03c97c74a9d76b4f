/* sonoplug ABI: portability macros.
 *
 * Why: every function pointer in the ABI carries SONO_ABI so that a plugin
 * built with one compiler and a host built with another agree on the calling
 * convention (it matters on 32-bit Windows; elsewhere it expands to nothing).
 * SONO_EXPORT marks the single exported symbol (sono_entry). */
#ifndef SONO_PRIVATE_MACROS_H
#define SONO_PRIVATE_MACROS_H

#if defined(_WIN32) && !defined(_WIN64)
#define SONO_ABI __cdecl
#else
#define SONO_ABI
#endif

#if defined(_WIN32)
#define SONO_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define SONO_EXPORT __attribute__((visibility("default")))
#else
#define SONO_EXPORT
#endif

#ifdef __cplusplus
#define SONO_EXTERN_C_BEGIN extern "C" {
#define SONO_EXTERN_C_END }
#else
#define SONO_EXTERN_C_BEGIN
#define SONO_EXTERN_C_END
#endif

#endif
