/* e2e.c: (in progress) */
