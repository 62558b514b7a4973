/*
 * export.h: the macro that marks what the shared library exports. Only the
 * C API (rt_...) and the runtools C++ namespace are exported; everything
 * else is hidden. Plain C, so that both APIs can use it.
 */
#ifndef RUNTOOLS_EXPORT_H
#define RUNTOOLS_EXPORT_H

#if defined(_WIN32)
#if defined(RUNTOOLS_BUILDING_SHARED)
#define RUNTOOLS_EXPORT __declspec(dllexport)
#elif defined(RUNTOOLS_USING_SHARED)
#define RUNTOOLS_EXPORT __declspec(dllimport)
#else
#define RUNTOOLS_EXPORT
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define RUNTOOLS_EXPORT __attribute__((visibility("default")))
#else
#define RUNTOOLS_EXPORT
#endif

/* The C API's spelling of the same macro. */
#define RT_API RUNTOOLS_EXPORT

#endif /* RUNTOOLS_EXPORT_H */
