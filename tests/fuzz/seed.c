/* The fuzz campaign's seed: the structs every command looks for, with bitfields,
 * unions, arrays, typedef chains, qualifiers, enums and function pointers. */
#include "../fixtures/flat_pid.h"

struct upid { int nr; struct pid_namespace *ns; struct hlist_node pid_chain; };
enum fpu_state_kind { FPU_NONE, FPU_XSAVE = 3 };
typedef const volatile unsigned long cvul_t;
typedef cvul_t cvul2_t;
struct fpstate { unsigned int size; unsigned int xfeatures; unsigned long regs[8] __attribute__((aligned(64))); };
struct fpu {
	unsigned int last_cpu;
	unsigned long avx512_timestamp;
	enum fpu_state_kind kind;
	struct fpstate *fpstate;
	struct fpstate __fpstate;
};
struct thread_struct {
	unsigned long sp;
	unsigned short es, ds;
	unsigned int io_bitmap : 3, iopl_warn : 1, pad : 28;
	cvul2_t debugreg[4][2];
	void (*callback)(struct thread_struct *, int, ...);
	union { unsigned char bytes[6]; struct { unsigned short lo; int hi : 20; } parts; } u;
	struct fpu fpu;
};

struct pid flat_pid_pid;
struct signal_struct flat_pid_signal;
struct task_struct flat_pid_task;
struct upid seed_upid;
struct thread_struct seed_thread;
