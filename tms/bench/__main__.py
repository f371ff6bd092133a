import sys

if len(sys.argv) > 1 and sys.argv[1] == "finite":  # python -m tms.bench finite [...]: the finite-data step
    from .finite import main as finite_main

    finite_main(sys.argv[2:])
else:
    from .toy import main

    main()
