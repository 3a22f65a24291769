/* The daemon's heap: giving freed memory back to the kernel. */
#ifndef CBPF_MEM_H
#define CBPF_MEM_H
#include <stddef.h>

/* Fixes glibc's thresholds (mallopt), which otherwise grow with the largest block freed: blocks
 * of at least mmap_threshold bytes get their own mapping, unmapped when freed, and a heap
 * whose free top exceeds trim_threshold bytes is shrunk at once. Returns 0, or -1 when
 * mallopt refused a value. */
int cbpf_tune_allocator(size_t mmap_threshold, size_t trim_threshold);

/* When the allocator holds at least min_free_bytes of freed memory (mallinfo2 fordblks, all
 * arenas), returns the free pages to the kernel with malloc_trim(0). Returns the free bytes
 * it found. */
size_t cbpf_release_free_memory(size_t min_free_bytes);
#endif
