#pragma once
// Clang's thread-safety attributes under short names (as Abseil's ABSL_GUARDED_BY etc.), so the
// compiler checks what the comments used to say: which mutex guards a field, which functions
// expect it held. They expand to nothing under GCC; `make test` runs clang -Wthread-safety over
// the sources that use them (scripts/thread-safety.sh).
#if defined(__clang__)
#define CACHET_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CACHET_THREAD_ANNOTATION(x)
#endif

// A type that is a lock (common::Mutex).
#define CACHET_CAPABILITY(name) CACHET_THREAD_ANNOTATION(capability(name))
// An RAII type that holds a lock for its lifetime (common::MutexLock).
#define CACHET_SCOPED_CAPABILITY CACHET_THREAD_ANNOTATION(scoped_lockable)
// A field read or written only with `mu` held.
#define CACHET_GUARDED_BY(mu) CACHET_THREAD_ANNOTATION(guarded_by(mu))
// A function that must be called with the lock(s) held.
#define CACHET_REQUIRES(...) CACHET_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
// A function that takes / gives back the lock(s).
#define CACHET_ACQUIRE(...) CACHET_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define CACHET_RELEASE(...) CACHET_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
// A function that takes the lock itself, so must not be called with it held.
#define CACHET_EXCLUDES(...) CACHET_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// A function that checks nothing at run time but tells the analysis the lock is held (for
// code the analysis cannot follow there, such as a lambda run by a function that holds it).
#define CACHET_ASSERT_CAPABILITY(x) CACHET_THREAD_ANNOTATION(assert_capability(x))
// Opts a function out of the analysis; say why where it is used.
#define CACHET_NO_THREAD_SAFETY_ANALYSIS CACHET_THREAD_ANNOTATION(no_thread_safety_analysis)
