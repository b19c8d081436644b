/*
 * host_err.h - error codes shared by the host-TPM implementations, so the
 * daemon's edge can tell the operator which failure happened and what to do.
 */
#ifndef VTPM_TCS_HOST_ERR_H
#define VTPM_TCS_HOST_ERR_H

#define HOST_E_FAIL (-1)       /* anything else; err says what */
#define HOST_E_NOTPM (-2)      /* device or socket absent / not answering */
#define HOST_E_BUSY (-3)       /* TPM busy or retry-later responses exhausted */
#define HOST_E_WRONG_TPM (-4)  /* sealed blob belongs to another TPM (or it was cleared) */
#define HOST_E_PCR (-5)        /* PCR values differ from those sealed to */
#define HOST_E_AUTH (-6)       /* owner/SRK/counter authorisation refused */
#define HOST_E_FORMAT (-7)     /* malformed blob or malformed TPM response */
#define HOST_E_NOSPACE (-8)    /* no NV index / counter available */

#endif
