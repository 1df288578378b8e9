/* SPDX-License-Identifier: MIT */
/* Just enough to write a static worker without libc (x86-64 and aarch64): raw system calls and a
 * _start that calls `void start_c(long *sp)` with the initial stack (argc, argv..., NULL,
 * envp..., NULL). Such a program is ~9 KB and its exec costs only the kernel's share: a static
 * glibc program spends most of its start-up in glibc's own initialisation (on this VM chiefly
 * CPUID for the cache sizes, which traps to the hypervisor), before main runs.
 * Build with: gcc -static -Os -s -nostdlib -fno-stack-protector -fno-builtin */
#ifndef FV_NOLIBC_H
#define FV_NOLIBC_H

#include <sys/syscall.h>

#if defined(__x86_64__)
static inline long sc(long n, long a, long b, long c, long d) {
        long r;
        register long r10 __asm__("r10") = d;
        __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
        return r;
}
__asm__(".text\n.globl _start\n_start:\n\txor %rbp,%rbp\n\tmov %rsp,%rdi\n\tand $-16,%rsp\n\tcall start_c\n\thlt\n");
#elif defined(__aarch64__)
static inline long sc(long n, long a, long b, long c, long d) {
        register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b, x2 __asm__("x2") = c,
                      x3 __asm__("x3") = d;
        __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
        return x0;
}
__asm__(".text\n.globl _start\n_start:\n\tmov x0, sp\n\tbl start_c\n\tbrk #0\n");
#else
#  error "bench/nolibc.h: x86-64 and aarch64 only"
#endif

#define NL_AT_FDCWD (-100)

static inline __attribute__((noreturn)) void nl_exit(int code) {
        for (;;)
                sc(SYS_exit_group, code, 0, 0, 0);
}

/* The value of NAME in the environment of the initial stack SP, or 0. */
static inline const char *nl_getenv(long *sp, const char *name) {
        char **envp = (char **) (sp + sp[0] + 2);
        for (; *envp; envp++) {
                const char *s = *envp, *k = name;
                while (*k && *s == *k)
                        s++, k++;
                if (!*k && *s == '=')
                        return s + 1;
        }
        return 0;
}

#endif
