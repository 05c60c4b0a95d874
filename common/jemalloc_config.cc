// jemalloc's configuration, read by jemalloc at start-up from this symbol of the
// executable (compiled into each one: a symbol in a static library would never be
// linked in, since nothing references it).
//
// background_thread: jemalloc returns freed memory to the system (madvise) on threads
// of its own instead of on the allocating thread. Without them the stream thread paid
// for the purges (3% of its CPU under load), and an idle process never purged: right
// after a restore of 1M holdings, a third of its resident memory was freed pages.
extern "C" {
// NOLINTNEXTLINE: the name is jemalloc's.
const char* malloc_conf = "background_thread:true";
}
