/* Heap shims; see include/cbpf_mem.h. */
#include "cbpf_mem.h"
#include <limits.h>
#include <malloc.h>

int cbpf_tune_allocator(size_t mmap_threshold, size_t trim_threshold)
{
	if (mmap_threshold > INT_MAX || trim_threshold > INT_MAX)
		return -1;
	if (!mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold) || !mallopt(M_TRIM_THRESHOLD, (int)trim_threshold))
		return -1;
	return 0;
}

size_t cbpf_release_free_memory(size_t min_free_bytes)
{
	struct mallinfo2 mi = mallinfo2();

	if (mi.fordblks >= min_free_bytes)
		malloc_trim(0);
	return mi.fordblks;
}
