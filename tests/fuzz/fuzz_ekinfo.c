/*
 * fuzz_ekinfo.c - crypto/ekcert.c ekinfo_decode, the record of a vTPM's
 * EKs and certificates that `vtpmctl ek` and `vtpmctl import` read.
 * Input: the record.  Invariants: every entry lies inside the input, kinds
 * are distinct and known, lengths within their limits; a decoded record
 * encodes back to the same bytes.
 */
#include "tests/fuzz/common.h"
#include "crypto/ekcert.h"
#include "crypto/pkey.h"

#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *f = fz_dup(data, size);
	struct ekinfo ei;
	struct buf b;

	if (ekinfo_decode(f, size, &ei) == 0) {
		FZ_CHECK(ei.n <= EKINFO_MAX_ENTRIES, "%u entries", ei.n);
		for (unsigned i = 0; i < ei.n; i++) {
			const struct ekinfo_entry *e = &ei.e[i];

			FZ_CHECK(e->spki_len <= PKEY_SPKI_MAX && e->cert_len <= EKCERT_DER_MAX,
				 "lengths");
			FZ_CHECK(e->spki == NULL || (e->spki >= f && e->spki + e->spki_len <= f + size),
				 "spki outside");
			FZ_CHECK(e->cert == NULL || (e->cert >= f && e->cert + e->cert_len <= f + size),
				 "cert outside");
			FZ_CHECK(ekinfo_find(&ei, e->kind) == e, "duplicate kind");
		}
		buf_init(&b, size + 16);
		FZ_CHECK(ekinfo_encode(&ei, &b) == 0 && b.len == size && memcmp(b.d, f, size) == 0,
			 "decode -> encode is not the identity");
		buf_free(&b);
	}
	free(f);
	return 0;
}
