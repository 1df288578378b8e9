/* SPDX-License-Identifier: MIT */
#include "json.h"

#include <stdio.h>

void json_write_string(const char *s, JsonWrite write, void *ud) {
        const char *run = s;
        write(ud, "\"", 1);
        for (; *s; s++) {
                unsigned char ch = (unsigned char) *s;
                if (ch != '"' && ch != '\\' && ch >= 0x20)
                        continue;
                /* What precedes it goes out in one piece. */
                if (s > run)
                        write(ud, run, (size_t) (s - run));
                char esc[8];
                int n = ch == '"' || ch == '\\' ? snprintf(esc, sizeof esc, "\\%c", ch)
                                                : snprintf(esc, sizeof esc, "\\u%04x", ch);
                write(ud, esc, (size_t) n);
                run = s + 1;
        }
        if (s > run)
                write(ud, run, (size_t) (s - run));
        write(ud, "\"", 1);
}
