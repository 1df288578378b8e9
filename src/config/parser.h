/* SPDX-License-Identifier: MIT */
/* The state of one configuration load, shared by the files of config/ and by nothing else: the
 * parser (every file, every section, the diagnostics), the state of the file being read, the
 * key table's entry, and the functions each file offers the others.
 *
 *   load.c        entry points, the parser's life, diagnostics
 *   files.c       reading files and includes
 *   ini-reader.c  the line reader and the handler inih calls (DESIGN 6)
 *   sections.c    section headers: a new Spec with its defaults, lookups by name
 *   keys.c        the key table and one parser per key
 *   validate.c    checks of each section and of the tree as a whole
 *   values.c      value syntax (numbers, words, signals, limits), pure
 *   suggest.c     did-you-mean, pure
 *   accounts.c    user and group lookups (NSS) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "macro.h"
#include "strindex.h"

#define MS_MAX UINT32_MAX /* ~49 days: larger "finite" durations are not meaningful */
#define COUNT_MAX 1000000u

/* Section kinds as the key table knows them: a key may be accepted by several. */
enum {
        KIND_FORKVISOR = 1u << 0,
        KIND_SUPERVISOR = 1u << 1,
        KIND_WORKER = 1u << 2,
        KIND_CLUSTER = 1u << 3,
};

#define KEYS_MAX 96

struct stat;
typedef struct Parser Parser;
typedef struct FileState FileState;
typedef struct SectionInfo SectionInfo;
typedef struct KeyDef KeyDef;

typedef enum KeyFlags {
        KEY_LIST = 1u << 0,          /* may go on over indented continuation lines */
        KEY_UNHASHED = 1u << 1,      /* left out of Spec.hash: reload compares `children` as a
                                      * structure, so a new child is no change of its supervisor */
        KEY_ONCE_PER_FILE = 1u << 2, /* `include`: once per file, where other [forkvisor] keys
                                      * are once in all files */
} KeyFlags;

struct KeyDef {
        const char *name;
        unsigned kinds;
        KeyFlags flags;
        /* Parses one line's value, or for a KEY_LIST key one word of it (keys_parse() splits
         * the line). Returns 0; -EINVAL after adding a diagnostic; -ENOSPC after adding one that
         * ends the line (the words after it are not parsed); or -ENOMEM. s is NULL in
         * [forkvisor]. */
        int (*parse)(FileState *fs, const KeyDef *k, Spec *s, const char *value);
        /* Called at the key line, before parse: a list that replaces its default (normal_exit). */
        void (*reset)(Spec *s);
};

typedef struct ChildName {
        char *name;   /* owned; as written in `children` */
        unsigned line;
} ChildName;

/* Parse-time facts about one named section, parallel to Config.sections. */
struct SectionInfo {
        unsigned key_line[KEYS_MAX]; /* line each key was given at, 0 = not given */
        ChildName *children;
        size_t n_children, cap_children;
        char *template_name;
        uint64_t hash;
        Spec *spec;                  /* borrowed; the section this describes */
        size_t index;                /* in Config.sections */
        SectionInfo *parent;         /* borrowed; set by validation */
        unsigned parent_line;        /* line of the `children` entry naming us */
        Spec *template_of;           /* borrowed; a supervisor using us as its template */
        size_t walk;                 /* find_cycles(): 1 + the section its walk started at */
        bool in_cycle;               /* find_cycles(): on a cycle not reported yet */
};

/* Every file read, the main one first, in the order they were read. */
typedef struct ConfigFile {
        char *path;   /* owned; display path */
        dev_t dev;
        ino_t ino;
        bool reading; /* on the current include stack */
} ConfigFile;

/* Names of sections, for did-you-mean: every section, the workers, the supervisors. */
typedef enum NameList {
        NAMES_ANY,
        NAMES_WORKERS,
        NAMES_SUPERVISORS,
        _NAMES_MAX,
} NameList;

struct Parser {
        Config *config;
        Diagnostics *diag;
        size_t diag_cap;    /* room in diag->lines */
        unsigned flags;
        size_t n_errors;
        bool oom;

        SectionInfo **info; /* owned, parallel to config->sections */
        size_t n_info, cap_info;
        size_t cap_sections;
        /* Lookups that would otherwise scan every section (quadratic in a big tree): sections
         * by name, and each child name by the supervisor that listed it last. */
        StrIndex by_name;   /* name → SectionInfo */
        StrIndex listed_by; /* child name (borrowed from SectionInfo.children) → SectionInfo */
        const char **names[_NAMES_MAX]; /* built at the first undefined name (validate.c) */
        size_t n_names[_NAMES_MAX];

        /* [forkvisor] and [cluster] may appear once per file; each of their keys once in all. */
        unsigned fv_key_line[KEYS_MAX];
        const char *fv_key_file[KEYS_MAX]; /* borrowed from files */
        char *root;
        unsigned root_line;
        const char *root_file;
        const char *fv_file; /* first [forkvisor] header, for tree-wide errors */
        unsigned fv_line;
        const char *cluster_file; /* first [cluster] header, for its missing keys */
        unsigned cluster_line;

        ConfigFile *files;
        size_t n_files, cap_files;
};

typedef enum ContState {
        CONT_IGNORE, /* the key line was refused: its continuations are ignored */
        CONT_SCALAR, /* a continuation is an error */
        CONT_LIST,   /* continuations are parsed */
} ContState;

typedef enum Current {
        CUR_NONE,      /* before the first section header */
        CUR_FORKVISOR,
        CUR_SPEC,
        CUR_CLUSTER,   /* [cluster] */
        CUR_SKIP,      /* a refused header: its keys are ignored (one error is enough) */
} Current;

typedef struct IncludePattern {
        char *pattern; /* owned */
        unsigned line;
} IncludePattern;

struct FileState {
        Parser *p;
        const char *path;  /* display path; borrowed from p->files */
        char *dir;         /* owned; dirname(path), for display paths of includes */
        char *abs_dir;     /* owned; absolute directory, for `directory` and relative paths */
        size_t file_index; /* in p->files */

        const char *data;  /* borrowed */
        size_t size, pos;
        unsigned line;

        Current cur;
        Spec *spec;        /* borrowed; CUR_SPEC */
        SectionInfo *info; /* borrowed; CUR_SPEC */
        unsigned forkvisor_line;
        unsigned cluster_line;     /* [cluster] may appear once per file */
        unsigned include_line;     /* `include` may be given once per file */

        bool prev_key_set;         /* mirrors inih's prev_name being non-empty */
        bool line_is_continuation; /* the reader's verdict on the line inih is parsing */
        bool line_has_comment;     /* and it has an inline comment (" ;"), which cut its value */
        const KeyDef *cont_key;
        ContState cont;

        IncludePattern *includes;  /* read after this file */
        size_t n_includes, cap_includes;
};

/* load.c: one diagnostic, "FILE:LINE: message". Returns -EINVAL, or -ENOMEM (and sets p->oom). */
_printf_(4, 5) int parser_error(Parser *p, const char *file, unsigned line, const char *fmt, ...);
#define fs_error(fs, ...) parser_error((fs)->p, (fs)->path, (fs)->line, __VA_ARGS__)
/* Marks the load as failed for want of memory; returns -ENOMEM. */
int parser_oom(Parser *p);

/* files.c */
int files_read_all(int fd, char **ret, size_t *ret_size);
/* Adds PATH (as displayed) to p->files, as being read; ST NULL for a string that is no file. */
int files_add(Parser *p, const char *path, const struct stat *st);
/* Parses p->files[file_index], whose text is DATA, then the files it includes. */
int files_parse(Parser *p, size_t file_index, const char *data, size_t size);

/* process-keys.c: oom_score_adj, ioprio and cpu_affinity (KeyDef.parse). */
int keys_parse_oom_score_adj(FileState *fs, const KeyDef *k, Spec *s, const char *v);
int keys_parse_ioprio(FileState *fs, const KeyDef *k, Spec *s, const char *v);
int keys_parse_cpu_affinity(FileState *fs, const KeyDef *k, Spec *s, const char *v);

/* listen-keys.c: listen, listen_name, listen_mode, listen_accept (KeyDef.parse), and their
 * checks: of one worker (finish_worker), and across workers once the tree is linked. */
int keys_parse_listen(FileState *fs, const KeyDef *k, Spec *s, const char *w);
int keys_parse_listen_name(FileState *fs, const KeyDef *k, Spec *s, const char *w);
int keys_parse_listen_mode(FileState *fs, const KeyDef *k, Spec *s, const char *v);
int keys_parse_listen_accept(FileState *fs, const KeyDef *k, Spec *s, const char *v);
void keys_check_listen(Parser *p, Spec *s, SectionInfo *info);
void keys_check_listen_tree(Parser *p);

/* ini-reader.c: runs inih over fs->data; 0, or -ENOMEM. */
int ini_reader_run(FileState *fs);

/* sections.c */
int section_begin(FileState *fs, const char *text); /* TEXT: between the brackets, untruncated */
Spec *section_find(Parser *p, const char *name, size_t *ret_index);
const char *section_display(FileState *fs, char *buf, size_t size); /* "[worker:NAME]" */
void section_hash_add(SectionInfo *info, const char *key, const char *value);

/* keys.c */
const KeyDef *keys_lookup(unsigned kind, const char *name, size_t *ret_index);
size_t keys_index(const char *name); /* of a key that exists */
/* One line's value of key K: 0, -EINVAL (diagnostics added) or -ENOMEM. */
int keys_parse(FileState *fs, const KeyDef *k, Spec *s, const char *value);
int keys_unknown(FileState *fs, unsigned kind, const char *name); /* the diagnostic */

/* validate.c */
void validate(Parser *p);
