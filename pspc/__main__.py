from pspc.cli import main

main()
