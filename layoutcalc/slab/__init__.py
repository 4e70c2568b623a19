"""The kernel's slab allocators: cache geometry per allocator era, cache specs, and the running kernel's caches."""
