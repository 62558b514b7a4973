/*
 * export.h: the macros that mark what the shared library exports. The
 * library is compiled with hidden visibility by default; only the C API
 * (rt_...) and the runtools C++ namespace of the public headers are
 * exported. Plain C, so that both APIs can use it.
 *
 *   RUNTOOLS_EXPORT            on a function or class: exported.
 *   RT_API                     the C API's spelling of RUNTOOLS_EXPORT.
 *   RUNTOOLS_NAMESPACE_EXPORT  on a `namespace runtools` definition of a
 *                              public header: every class declared in it is
 *                              exported, with its members, typeinfo and
 *                              vtable (so that the SDK's exceptions can be
 *                              caught across the library's boundary).
 *
 * Clang takes a free function's visibility from the namespace block of its
 * definition (in src/), not of its declaration, so the free functions of the
 * public headers carry RUNTOOLS_EXPORT as well. runtools::internal is never
 * opened inside an exported namespace block: its classes stay hidden.
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

/* `namespace RUNTOOLS_NAMESPACE_EXPORT runtools {`: GCC and Clang accept a
 * visibility attribute on a namespace definition, in the attribute position
 * of C++11 (before the name); elsewhere it is empty. Only C++ uses it. */
#if defined(__cplusplus) && !defined(_WIN32) && (defined(__GNUC__) || defined(__clang__))
#define RUNTOOLS_NAMESPACE_EXPORT [[gnu::visibility("default")]]
#else
#define RUNTOOLS_NAMESPACE_EXPORT
#endif

#endif /* RUNTOOLS_EXPORT_H */
