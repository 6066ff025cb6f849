// Symbol visibility for the eventwatcher shared library.
//
// The library is compiled with -fvisibility=hidden; only declarations marked
// EVENTWATCHER_API are exported, so internal helpers never leak into the
// dynamic symbol table of an application or of the JNI bridge.
#pragma once

#if defined(__GNUC__)
#define EVENTWATCHER_API __attribute__((visibility("default")))
#else
#define EVENTWATCHER_API
#endif
