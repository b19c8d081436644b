/*
 * xen_standin.h - an in-process stand-in for xenstore, grant tables and
 * event channels, behind the same struct xen_if as the real libraries
 * (manager/xen_if.h), for testing the Xen backend without a hypervisor.
 *
 * One struct standin is "the machine": a xenstore tree shared by every
 * domain, a grant table, and the event channels.  standin_open() gives one
 * domain's handles (a xenstore connection, a gnttab and an evtchn handle),
 * which behave as libxenstore/libxengnttab/libxenevtchn do:
 *   - xenstore: absolute paths; writing a node creates its parents; rm is
 *     recursive; reading a missing node fails with ENOENT.  A watch fires
 *     once when set, then for each write or rm at or below its path, and
 *     with its own path when an ancestor is removed.  Events queue per
 *     connection; its fd (an eventfd) is readable while any is queued.
 *     Unwatch does not purge events already queued (xs_open(0) semantics).
 *   - grants: a domain grants a page to one other domain; only that domain
 *     can map it, and only by the granter's domid and the right ref; the
 *     "mapping" is the same memory, shared between threads.
 *   - event channels: a domain allocates an unbound port for a remote
 *     domain, which binds to it interdomain.  A notification marks the peer
 *     port pending; delivery masks it until unmask (the Linux evtchn
 *     driver), a notification to an unbound port is lost, and unbinding
 *     (or closing the handle) leaves the peer port unbound again.
 * Not modelled: permissions, quotas, transactions other than
 * standin_xs_write_txn, multi-page grants.  Everything is thread-safe.
 *
 * For the tests of the backend's threads: a hung xenstored
 * (standin_xs_hang: reads or writes under a path block until released),
 * and handles that count calls made from a thread they must never be
 * called from (standin_forbid_thread).
 */
#ifndef VTPM_TESTS_XEN_STANDIN_H
#define VTPM_TESTS_XEN_STANDIN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "manager/xen_if.h"

struct standin;

struct standin *standin_new(void);
void standin_free(struct standin *w);

/* The handles of domain domid; xi->close releases them (unmapping and
 * unbinding what they hold, like closing the real handles). */
int standin_open(struct standin *w, unsigned domid, struct xen_if *xi);

/* Guest side. */
void *standin_page_alloc(void); /* zeroed, page-aligned; free() it */
uint32_t standin_grant(struct standin *w, unsigned owner, unsigned grantee, void *page);
/* Revokes a grant: -1 with EBUSY while it is still mapped. */
int standin_grant_end(struct standin *w, uint32_t ref);
/* An unbound port of xi's domain that remote_domid may bind to. */
int standin_evtchn_alloc_unbound(const struct xen_if *xi, unsigned remote_domid);

/* Toolstack side: writes n path/value pairs at once (one transaction);
 * watches fire afterwards. */
int standin_xs_write_txn(struct standin *w, const char *const *kv, size_t n);
int standin_xs_rm(struct standin *w, const char *path);

/*
 * A hung xenstored: from now on, xs_read/xs_directory (STANDIN_HANG_READ)
 * and/or xs_write (STANDIN_HANG_WRITE) of a path at or below prefix,
 * through any handle, block until standin_xs_unhang, until the next
 * standin_xs_hang (which replaces this one), or until max_ms have passed
 * since this call, whichever comes first.  The toolstack helpers below
 * (standin_xs_write_txn, standin_xs_rm) never block.
 */
#define STANDIN_HANG_READ 1u
#define STANDIN_HANG_WRITE 2u
void standin_xs_hang(struct standin *w, const char *prefix, unsigned ops, unsigned max_ms);
void standin_xs_unhang(struct standin *w);
/* Calls of the kinds in ops blocked in the hang right now. */
unsigned standin_xs_hung(struct standin *w, unsigned ops);

/* Every call through handle xi made on thread t is counted
 * (standin_forbidden_calls), also after xi is closed. */
void standin_forbid_thread(const struct xen_if *xi, pthread_t t);
unsigned standin_forbidden_calls(struct standin *w);

/* What is live right now: grant mappings, bound interdomain port pairs. */
unsigned standin_mappings(struct standin *w);
unsigned standin_bound_pairs(struct standin *w);

#endif
