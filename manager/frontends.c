/*
 * frontends.c - wires the front ends (per-vTPM sockets, Xen) into the
 * core's hooks (struct mgr_hooks), so that the core calls none of them.
 * Owns nothing; trusts its callers.
 */
#include "manager/mgr.h"
#include "manager/adopt.h"
#include "manager/xen_backend.h"

static int
xen_has_open(struct mgr *m, const struct vtpm *v)
{
	return xen_vtpm_open(m, v->me.uuid);
}

/* A vTPM's sockets: those of a vtpmd that outlived the last manager
 * (adopted), else bound afresh. */
static int
bind_or_adopt(struct mgr *m, struct vtpm *v, char *err, size_t errlen)
{
	if (adopt_connect(m, v))
		return 0;
	return sockets_bind_vtpm(m, v, err, errlen);
}

void
frontends_hook(struct mgr *m)
{
	m->hooks.vtpm_added = bind_or_adopt;
	m->hooks.vtpm_removed = sockets_unbind_vtpm;
	m->hooks.vtpmd_started = adopt_offer;
	m->hooks.vtpmd_gone = adopt_forget;
	m->hooks.adopting_msg = adopt_handle_msg;
	m->hooks.adopting_broke = adopt_failed;
	m->hooks.xen_open = xen_has_open;
	m->hooks.after_batch = sockets_run_resumes;
}
