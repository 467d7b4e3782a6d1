/* sweep.c: (in progress) */
