/*
 * xen_if.h - the narrow seam between the Xen PV backend (xen_backend.c) and
 * the three Xen interfaces it needs: xenstore, grant-table mapping and
 * event channels.
 *
 * Two implementations:
 *   - manager/xen_if_real.c: libxenstore, libxengnttab, libxenevtchn
 *     (compiled in when VTPM_XEN is defined and the headers exist);
 *   - tests/xen/xen_standin.c: an in-process stand-in used by the tests
 *     (a xenstore tree with watches, pages shared between threads, event
 *     channels with the kernel driver's mask-on-delivery semantics).
 *
 * The ops mirror the libraries' semantics, so the backend cannot tell them
 * apart:
 *   - xenstore paths are absolute; values are read as NUL-terminated
 *     strings (malloc'd, the caller frees); a missing node is NULL with
 *     errno ENOENT.
 *   - a watch fires once when registered, then for every change at or
 *     below its path (and for its own path when an ancestor is removed).
 *     Pending events make xs_fd readable (level-triggered, like xs_fileno).
 *   - gnt_map maps one 4 KiB page granted by domid, read/write.
 *   - an event channel that fired is masked until evtchn_unmask (the Linux
 *     evtchn driver's behaviour); evtchn_pending never blocks.
 */
#ifndef VTPM_MANAGER_XEN_IF_H
#define VTPM_MANAGER_XEN_IF_H

#include <stddef.h>
#include <stdint.h>

#define XEN_PAGE_SIZE 4096u

struct xen_if {
	void *ctx;

	/* xenstore */
	int (*xs_fd)(void *ctx);
	char *(*xs_read)(void *ctx, const char *path);
	int (*xs_write)(void *ctx, const char *path, const char *value); /* 0 or -1, errno */
	/* The names of path's children in one malloc'd block (free once). */
	char **(*xs_directory)(void *ctx, const char *path, unsigned *num);
	int (*xs_watch)(void *ctx, const char *path, const char *token);
	int (*xs_unwatch)(void *ctx, const char *path, const char *token);
	/* One pending watch event: 1 (path and token copied, NUL-terminated,
	 * truncated to their buffers), 0 when none is pending, -1 on error. */
	int (*xs_read_watch)(void *ctx, char *path, size_t pathlen, char *token, size_t toklen);
	/* The domain id this process runs in. */
	int (*xs_domid)(void *ctx, unsigned *domid);

	/* grant tables */
	void *(*gnt_map)(void *ctx, uint32_t domid, uint32_t ref); /* NULL, errno */
	int (*gnt_unmap)(void *ctx, void *page);

	/* event channels */
	int (*evtchn_fd)(void *ctx);
	/* Binds to remote_port of domid; returns the local port or -1. */
	int (*evtchn_bind)(void *ctx, uint32_t domid, uint32_t remote_port);
	int (*evtchn_unbind)(void *ctx, uint32_t port);
	int (*evtchn_notify)(void *ctx, uint32_t port);
	/* A local port that fired (now masked), or -1 with errno EAGAIN. */
	int (*evtchn_pending)(void *ctx);
	int (*evtchn_unmask)(void *ctx, uint32_t port);

	/* Releases the handles (ctx is invalid afterwards); may be NULL. */
	void (*close)(void *ctx);
};

/*
 * Opens libxenstore, libxengnttab and libxenevtchn (xen_if_real.c).
 * Returns 0, or -1 with a message in err (also when the manager was built
 * without Xen support).
 */
int xen_if_real_open(struct xen_if *xi, char *err, size_t errlen);

#endif
