from .toy import main

main()
