/* SPDX-License-Identifier: MIT */
/* The compiled configuration: an immutable tree of section specs built by config/ (config.h)
 * and read by the running tree. Pure data: nothing here forks, opens sockets or touches the
 * event loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

typedef enum SpecKind {
        SPEC_WORKER,
        SPEC_SUPERVISOR,
        _SPEC_KIND_MAX,
} SpecKind;

typedef enum Strategy {
        STRATEGY_ONE_FOR_ONE,
        STRATEGY_ONE_FOR_ALL,
        STRATEGY_REST_FOR_ONE,
        STRATEGY_SIMPLE_ONE_FOR_ONE,
        _STRATEGY_MAX,
        _STRATEGY_INVALID = -1,
} Strategy;

typedef enum RestartType {
        RESTART_PERMANENT,
        RESTART_TRANSIENT,
        RESTART_TEMPORARY,
        _RESTART_TYPE_MAX,
        _RESTART_TYPE_INVALID = -1,
} RestartType;

typedef enum ReadyMode {
        READY_NONE,
        READY_MAILBOX,
        READY_NOTIFY,
        READY_EXIT,       /* a one-shot: ready once it has exited with a status in normal_exit */
        READY_HEALTH,     /* ready once its health check first passes */
        _READY_MODE_MAX,
        _READY_MODE_INVALID = -1,
} ReadyMode;

typedef enum AutoShutdown {
        AUTO_SHUTDOWN_NEVER,
        AUTO_SHUTDOWN_ANY_SIGNIFICANT,
        AUTO_SHUTDOWN_ALL_SIGNIFICANT,
        _AUTO_SHUTDOWN_MAX,
        _AUTO_SHUTDOWN_INVALID = -1,
} AutoShutdown;

typedef enum OutputMode {
        OUTPUT_LOG,
        OUTPUT_INHERIT,
        OUTPUT_NULL,
        OUTPUT_FILE,
        _OUTPUT_MODE_MAX,
        _OUTPUT_MODE_INVALID = -1,
} OutputMode;

typedef enum LogTarget {
        LOG_TARGET_AUTO,
        LOG_TARGET_JOURNAL,
        LOG_TARGET_STDERR,
        _LOG_TARGET_MAX,
        _LOG_TARGET_INVALID = -1,
} LogTarget;

/* [forkvisor] exit_status: what `forkvisor run` exits with after the root's auto_shutdown. */
typedef enum ExitStatusMode {
        EXIT_STATUS_NORMAL,       /* 0, as after any orderly shutdown */
        EXIT_STATUS_SIGNIFICANT,  /* the exit of the significant child that ended the tree */
        _EXIT_STATUS_MODE_MAX,
        _EXIT_STATUS_MODE_INVALID = -1,
} ExitStatusMode;

typedef enum SpecLimit {
        SPEC_LIMIT_NOFILE,
        SPEC_LIMIT_CORE,
        SPEC_LIMIT_AS,
        SPEC_LIMIT_NPROC,
        _SPEC_LIMIT_MAX,
} SpecLimit;

/* shutdown: milliseconds after stop_signal before SIGKILL. */
#define SHUTDOWN_INFINITY UINT64_MAX
#define SHUTDOWN_BRUTAL_KILL 0 /* "brutal_kill": SIGKILL at once */

#define SPEC_NAME_MAX 32 /* section names: [a-z0-9_-]{1,32}, also '.' is refused */

typedef struct Spec Spec;

struct Spec {
        SpecKind kind;
        char *name;       /* owned; the section name without its kind */
        char *file;       /* owned; file that defined the section */
        unsigned line;    /* line of the section header */
        uint64_t hash;    /* for reload's diff: hash of the kind, the directory of `file` (relative
                           * paths) and every key = value line of the section as written, in order,
                           * except `children` (compared as a structure by reload.c) */

        /* As a child of a supervisor (both kinds). */
        RestartType restart;      /* default permanent */
        uint64_t shutdown_ms;     /* worker default 5000, supervisor default SHUTDOWN_INFINITY */
        bool significant;

        /* SPEC_SUPERVISOR only. */
        Strategy strategy;
        unsigned intensity;       /* default 1 */
        uint64_t period_ms;       /* default 5000; "period = 2.5" is 2500 */
        Spec **children;          /* borrowed (owned by Config.sections); start order */
        size_t n_children;
        Spec *template_;          /* borrowed; simple_one_for_one only */
        unsigned instances;       /* simple_one_for_one only; default 0 */
        unsigned max_children;    /* simple_one_for_one only; 0 = unlimited */
        AutoShutdown auto_shutdown;

        /* SPEC_WORKER only. */
        char **argv;              /* owned strv; may contain %i %n %% (see spec_expand_argv) */
        char **pre_start;         /* owned strv or NULL: run before each start (ExecStartPre=) */
        char **post_stop;         /* owned strv or NULL: run after each stop or exit (ExecStopPost=) */
        char **health;            /* owned strv or NULL: the health check (HEALTHCHECK CMD) */
        uint64_t health_interval_ms;     /* default 30000: from one check's end to the next */
        uint64_t health_timeout_ms;      /* default 30000: a check still running is killed, failed */
        unsigned health_retries;         /* default 3: failures in a row that make it unhealthy */
        uint64_t health_start_period_ms; /* default 0: failures within it after the spawn do not count */
        int stop_signal;          /* default SIGTERM */
        int *normal_exit;         /* owned; default { 0 } */
        size_t n_normal_exit;
        ReadyMode ready;
        uint64_t ready_timeout_ms;       /* default 10000 */
        uint64_t restart_delay_ms;       /* default 0 */
        uint64_t restart_delay_max_ms;   /* default = restart_delay_ms */
        uint64_t min_uptime_ms;   /* default 0: an exit within it after the spawn is a failed start */
        uint64_t watchdog_ms;     /* default 0 (none): WATCHDOG=1 (or fv_watchdog) at least this often */
        int watchdog_signal;      /* default SIGABRT: what a silent worker is sent first */
        char *register_name;      /* owned; NULL for "none"; default the section name
                                   * (the runtime appends ".%i" for dynamic children);
                                   * a duplicate key keeps its leading '+' */
        bool register_is_default; /* register was not given */
        char *register_global;    /* owned; NULL: none; a global name of the cluster (cluster-names.h) */
        char **subscribe;         /* owned strv, may be empty */
        unsigned mailbox_limit;   /* default 1024 */
        char *user;               /* owned; NULL = the daemon's */
        char *group;              /* owned; NULL = the user's primary group or the daemon's */
        uid_t uid;                /* resolved at load time when user is set, else (uid_t) -1 */
        gid_t gid;                /* resolved at load time when user or group is set, else
                                   * (gid_t) -1 */
        gid_t *groups;            /* owned; supplementary groups of `user` (getgrouplist), resolved
                                   * at load time so the spawn path does no NSS lookup */
        size_t n_groups;          /* 0 when user is not set */
        char *directory;          /* owned; default the directory of `file` */
        char **environment;       /* owned strv of KEY=VALUE, ${NAME} expanded at load */
        char **env_files;         /* owned strv: env_file, absolute, "-PATH" when optional; read
                                   * at each spawn, before `environment` (envfile.h); may be NULL */
        int umask;                /* -1 = inherited */
        int nice;
        bool nice_set;
        int oom_score_adj;        /* -1000..1000, written to /proc/PID/oom_score_adj */
        bool oom_score_adj_set;
        int ioprio;               /* the kernel's ioprio value (class << 13 | level); 0 = inherited */
        uint64_t *cpu_affinity;   /* owned; a CPU mask, bit N of word N / 64 = CPU N; NULL = inherited */
        size_t n_cpu_affinity;    /* its 64-bit words */
        bool limit_set[_SPEC_LIMIT_MAX];
        struct rlimit limit[_SPEC_LIMIT_MAX]; /* "infinity" is RLIM_INFINITY; "N" sets soft=hard=N,
                                               * "SOFT:HARD" both */
        OutputMode stdout_mode, stderr_mode;
        char *stdout_path, *stderr_path; /* owned; absolute; OUTPUT_FILE only */
        uint64_t log_max_bytes;   /* file: outputs rotate past it; 0 = never */
        unsigned log_backups;     /* rotated files kept (PATH.1 ...); default 10, 0 = truncate */
        bool stdin_inherit;
        bool kill_group;          /* default yes */
        /* cgroup limits (cgroup.h): 0 not set, UINT64_MAX "infinity". */
        uint64_t memory_max;      /* bytes */
        uint64_t pids_max;
        uint64_t cpu_weight;      /* 1..10000 */
        unsigned resource_line;   /* line of the first of them, for "FILE:LINE: unavailable" */
        /* Socket activation (listen-addr.h): the node's sockets, passed as fds 3.. */
        char **listen;            /* owned strv or NULL: addresses as listen_addr_parse() reads them
                                   * (a unix path made absolute) */
        char **listen_names;      /* owned strv or NULL: none, one for all, or one per listen */
        int listen_mode;          /* unix sockets' mode; default 0666 */
        bool listen_lazy;         /* listen_accept = lazy: started at the first connection */
};

/* [cluster] (forkvisor-cluster(7)): the node joins a cluster over NATS. Read at start only. */
typedef struct ClusterConfig {
        bool enabled;             /* a [cluster] section was given */
        char **nats;              /* owned strv: server URLs, tried in turn */
        char *node;               /* owned; NULL = the host name, decided by the daemon */
        char *prefix;             /* owned; NULL = "forkvisor" */
        char *credentials;        /* owned; absolute paths, or NULL */
        char *tls_ca;
        char *tls_cert;
        char *tls_key;
        uint64_t heartbeat_ms;    /* default 1000 */
} ClusterConfig;

#define CLUSTER_NAME_MAX 64
#define CLUSTER_URLS_MAX 32
#define CLUSTER_HEARTBEAT_DEFAULT_MS 1000

/* [forkvisor] metrics_interval: its default and bounds, in ms. */
#define METRICS_INTERVAL_DEFAULT_MS 10000
#define METRICS_INTERVAL_MIN_MS 100
#define METRICS_INTERVAL_MAX_MS 3600000

typedef struct Config {
        char *path;               /* owned; the main file as given */
        char *control;            /* owned; NULL = the default path (SPEC 3.1), decided by the daemon */
        char *state_dir;          /* owned; NULL = CONTROL.held, beside the control socket (held.h) */
        LogTarget log;
        int subreaper;            /* -1 = default (yes as PID 1), 0 no, 1 yes */
        int log_timestamps;       /* -1 = default (yes unless stderr is the journal), 0 no, 1 yes */
        unsigned registry_size;   /* default 4096 */
        ExitStatusMode exit_status; /* default EXIT_STATUS_NORMAL */
        char *metrics_file;       /* owned; NULL: the node writes no metrics file */
        uint64_t metrics_interval_ms; /* how often it rewrites it; 0 = METRICS_INTERVAL_DEFAULT_MS */
        Spec *root;               /* borrowed; a supervisor */
        Spec **sections;          /* owned, every section in file order */
        size_t n_sections;
        size_t packed_size;       /* made by config_pack(): the size of its one mapping, else 0 */
        ClusterConfig cluster;
} Config;

/* A node or prefix name of [cluster]: 1-CLUSTER_NAME_MAX characters of A-Z, a-z, 0-9, '_' and
 * '-' (one NATS subject token, and a JetStream bucket name too). */
bool cluster_name_is_valid(const char *name);
/* a and b say the same (a reload compares them: [cluster] is read at start only). */
bool cluster_config_equal(const ClusterConfig *a, const ClusterConfig *b);

/* A copy of c in one mapping of its own (the Config first, then its sections, arrays and
 * strings), outside the heap: what a configuration holds for as long as it runs is not
 * thousands of small allocations, nor one large one, left among the node's own by every reload
 * (they fragmented the heap: a soak's RSS kept climbing with reloads while what was in use did
 * not). c is left as it was. 0 or -ENOMEM. */
int config_pack(const Config *c, Config **ret);

Config *config_free(Config *c);

Spec *config_find(const Config *c, SpecKind kind, const char *name);

/* Expands %i (instance; empty when instance < 0), %n (name) and %% in a worker's argv into a
 * new strv. */
int spec_expand_argv(const Spec *s, const char *name, int instance, char ***ret);
/* The same for any command line of the section (words: s->argv, s->pre_start, s->post_stop,
 * s->health). */
int spec_expand_command(const Spec *s, char *const *words, const char *name, int instance, char ***ret);

/* Section names: [a-z0-9_-]{1,SPEC_NAME_MAX}. */
bool spec_name_is_valid(const char *name);

const char *spec_kind_to_string(SpecKind k);
const char *strategy_to_string(Strategy s);
Strategy strategy_from_string(const char *s);
const char *restart_type_to_string(RestartType t);
RestartType restart_type_from_string(const char *s);
const char *ready_mode_to_string(ReadyMode m);
ReadyMode ready_mode_from_string(const char *s);
const char *auto_shutdown_to_string(AutoShutdown a);
AutoShutdown auto_shutdown_from_string(const char *s);
const char *output_mode_to_string(OutputMode m);
OutputMode output_mode_from_string(const char *s); /* "file" alone; the ":PATH" is config's */
const char *log_target_to_string(LogTarget t);
LogTarget log_target_from_string(const char *s);
const char *exit_status_mode_to_string(ExitStatusMode m);
ExitStatusMode exit_status_mode_from_string(const char *s);
