/*
 * frontends.c - wires the front ends (per-vTPM sockets, Xen) into the
 * core's hooks (struct mgr_hooks), so that the core calls none of them.
 * Owns nothing; trusts its callers.
 */
#include "manager/mgr.h"
#include "manager/xen_backend.h"

static int
xen_open(struct mgr *m, const struct vtpm *v)
{
	return xen_vtpm_open(m, v->me.uuid);
}

void
frontends_hook(struct mgr *m)
{
	m->hooks.xen_open = xen_open;
	m->hooks.after_batch = sockets_run_resumes;
}
