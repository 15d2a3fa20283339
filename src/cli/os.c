/* SPDX-License-Identifier: MIT */
/*
 * The command line's own copy of the platform layer (src/os/os.h), under
 * its own names (cli_os_*), so that it links against the public interface
 * of libcharnn alone, static or shared.
 */
#define CN_OS_FOR_CLI 1
#ifdef _WIN32
#include "../os/windows.c"
#else
#include "../os/posix.c"
#endif
