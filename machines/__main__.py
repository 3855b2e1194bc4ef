from machines.cli import main

main()
