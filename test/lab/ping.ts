// ICMP echo without iputils-ping: a perl-base one-liner (perl-base is Essential, so in every node).

const SCRIPT = String.raw`
use strict; use Socket qw(:DEFAULT inet_pton pack_sockaddr_in6 AF_INET6);
my ($dst, $t) = @ARGV; $t ||= 2;
my $v6 = $dst =~ /:/;
socket(my $s, $v6 ? AF_INET6 : AF_INET, SOCK_RAW, $v6 ? 58 : 1) or die "socket: $!\n";
my $id = $$ & 0xffff;
my $pkt = pack('CCnnn', $v6 ? 128 : 8, 0, 0, $id, 1) . 'pgduplex-lab';
unless ($v6) {
  my $sum = 0; $sum += $_ for unpack('n*', $pkt);
  $sum = ($sum >> 16) + ($sum & 0xffff); $sum += $sum >> 16;
  substr($pkt, 2, 2) = pack('n', ~$sum & 0xffff);
}
my $sa = $v6 ? pack_sockaddr_in6(0, inet_pton(AF_INET6, $dst)) : pack_sockaddr_in(0, inet_aton($dst));
send($s, $pkt, 0, $sa) or die "send to $dst: $!\n";
my $end = time + $t;
while ((my $left = $end - time) > 0) {
  my $rin = ''; vec($rin, fileno($s), 1) = 1;
  last unless select(my $rout = $rin, undef, undef, $left);
  recv($s, my $buf, 2048, 0);
  my $icmp = $v6 ? $buf : substr($buf, (ord($buf) & 15) * 4);
  my ($type, undef, undef, $rid) = unpack('CCnn', $icmp);
  if ($type == ($v6 ? 129 : 0) && $rid == $id) { print "echo reply from $dst\n"; exit 0 }
}
print STDERR "no echo reply from $dst within $t seconds\n"; exit 1;
`;

/** Why: nodes and host lack ping; pass this argv to nodeExec/outsiderExec (exit 0 = reply). */
export function pingArgv(address: string, timeoutSec = 2): string[] {
  return ['perl', '-e', SCRIPT, address, String(timeoutSec)];
}
