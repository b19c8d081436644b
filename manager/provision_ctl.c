/*
 * provision_ctl.c - provisioning as vtpmctl sees it: which control
 * requests are provisioning's and which module serves each (provision.c:
 * the CA, EKs; transfer.c: the transport key, export, import;
 * swtpm_import.c: import-swtpm), and the modules' start-up in order.
 *
 * Trusts: the vtpmctl socket's peer check (ctl.c); each module checks its
 * request's exact size itself.
 */
#include "manager/provision.h"
#include "manager/provision_int.h"
#include "manager/recovery.h"

int
prov_init(struct mgr *m, char *err, size_t errlen)
{
	if (prov_jobs_init(m, err, errlen) != 0)
		return -1;
	if (transfer_init(m, m->prov, err, errlen) != 0)
		return -1;
	return recovery_maintain(m, err, errlen);
}

int
prov_handles(uint32_t type)
{
	return type == CTL_CA || type == CTL_EK || type == CTL_TRANSPORT_KEY ||
	       type == CTL_EXPORT || type == CTL_IMPORT || type == CTL_IMPORT_SWTPM;
}

void
prov_ctl(struct mgr *m, struct ctl_client *c, const struct chan_msg *msg)
{
	switch (msg->type) {
	case CTL_CA:
		if (msg->len != 0)
			ctl_answer(m, c, 0, "malformed ca request", NULL, NULL, 0);
		else
			ctl_answer(m, c, 1, "ok", NULL, m->prov->ca_pem.d, m->prov->ca_pem.len);
		return;
	case CTL_EK:
		prov_ek(m, c, msg->data, msg->len);
		return;
	case CTL_TRANSPORT_KEY:
		if (msg->len != 0)
			ctl_answer(m, c, 0, "malformed transport-key request", NULL, NULL, 0);
		else
			transfer_key(m, c);
		return;
	case CTL_EXPORT:
		transfer_export(m, c, msg->data, msg->len);
		return;
	case CTL_IMPORT:
		transfer_import(m, c, msg->data, msg->len);
		return;
	case CTL_IMPORT_SWTPM:
		swtpm_import(m, c, msg->data, msg->len);
		return;
	}
}
